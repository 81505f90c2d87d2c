import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { base, file, host } from './fixture.js';

describe('pipeline service: diagnostics', () => {
  test('the base document is clean', () => {
    const doc = pipelineService.parse(file, base);
    assert.deepEqual(pipelineService.diagnostics(doc, host), []);
  });

  test('diagnostics carry quick fixes; missing files go through the host', () => {
    const doc = pipelineService.parse(
      file,
      base.replace('data/customers.csv', 'data/clients.csv').replace('    gate:', '    gates:'),
    );
    const ds = pipelineService.diagnostics(doc, host);
    assert.deepEqual(
      ds.map((d) => d.code),
      ['missing-file', 'unknown-key'],
    );
    assert.equal(ds[1]?.fixes?.[0]?.newText, 'gate');
  });
});
