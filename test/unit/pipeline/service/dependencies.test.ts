import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { base, file, host } from './fixture.js';

describe('pipeline service: dependencies', () => {
  test('dependencies: data files and the card, absolute', () => {
    const doc = pipelineService.parse(file, base);
    assert.deepEqual(pipelineService.dependencies(doc, host).sort(), [
      '/work/project/data/customers.csv',
      '/work/project/docs/card.md',
    ]);
  });
});
