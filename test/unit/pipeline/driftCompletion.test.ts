import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { driftTests, driftTestSettings } from '@cairn/protocol';
import { pipelineService } from '../../../language-server/src/services/pipeline/index.js';
import type { WorkspaceHost } from '../../../language-server/src/services/types.js';
import { cursor } from './helpers.js';

// The language server completes drift test names from the one vocabulary (protocol/src/drift.ts), spelled as the
// runtime, the CLI and the reports spell them.

const host: WorkspaceHost = { fileExists: () => true, readText: () => undefined, pipelinesNamingCard: () => [] };
const labels = (marked: string): string[] => {
  const { text, offset } = cursor(marked);
  return pipelineService.completions(pipelineService.parse('/w/cairn.yaml', text), offset, host).map((i) => i.label);
};
const head = `version: 1
name: drift
steps:
  train:
    run: python train.py
    outs: { model: model.onnx, data: data.csv }
`;

test('deploy.monitor.drift per-column tests complete with the drift vocabulary, auto and evidently included', () => {
  const text = `${head}deploy:\n  model: \${steps.train.outputs.model}\n  monitor:\n    reference: data.csv\n    drift:\n      rating: { test: | }\n`;
  assert.deepEqual(labels(text).sort(), [...driftTestSettings].sort());
  const shorthand = `${head}deploy:\n  model: \${steps.train.outputs.model}\n  monitor:\n    reference: data.csv\n    drift:\n      rating: |\n`;
  assert.deepEqual(labels(shorthand).sort(), [...driftTestSettings].sort());
});

test("drift.check's tests: complete with the drift vocabulary", () => {
  const text = `${head}  drift:\n    uses: drift.check\n    with:\n      reference: a.csv\n      current: b.csv\n      tests:\n        age: { test: | }\n`;
  assert.deepEqual(labels(text).sort(), [...driftTests].sort());
  assert.ok(!labels(text).includes('chi2'), 'one spelling: chisquare');
});
