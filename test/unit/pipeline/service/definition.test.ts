import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { at, base, host, mark } from './fixture.js';

describe('pipeline service: definition', () => {
  test('definition: params, steps, outputs, needs and data files', () => {
    const p = at(mark(base, '${params.lr}', 10));
    const [d] = pipelineService.definition(p.doc, p.offset, host);
    assert.equal(p.doc.text.slice(d?.span.start, d?.span.end), 'lr');
    assert.equal(d?.span.start, p.doc.text.indexOf('  lr: 0.01') + 2);
    const s = at(mark(base, '${steps.split.outputs.train}', 9));
    assert.equal(pipelineService.definition(s.doc, s.offset, host)[0]?.span.start, s.doc.text.indexOf('  split:') + 2);
    const f = at(mark(base, 'data/customers.csv', 3));
    assert.deepEqual(pipelineService.definition(f.doc, f.offset, host), [
      { file: '/work/project/data/customers.csv', span: { start: 0, end: 0 } },
    ]);
  });
});
