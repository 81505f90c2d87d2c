import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { base, file } from './fixture.js';

describe('pipeline service: outline', () => {
  test('symbols: params, data, steps with outputs, deploy', () => {
    const doc = pipelineService.parse(file, base);
    const symbols = pipelineService.symbols(doc);
    assert.deepEqual(
      symbols.map((s) => s.name),
      ['version', 'name', 'params', 'data', 'steps', 'deploy'],
    );
    const steps = symbols.find((s) => s.name === 'steps');
    assert.deepEqual(
      steps?.children.map((c) => c.name),
      ['split', 'train', 'evaluate'],
    );
    assert.deepEqual(
      steps?.children[1]?.children.map((c) => c.name),
      ['model', 'onnx'],
    );
  });
});
