import * as path from 'node:path';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import { main } from '../../../runtime/src/cli/main.js';

/** Shared by the deploy tests: the in-process CLI and a small real pipeline (sklearn's wine table, see scripts/golden). */
export const fixtures = path.resolve(__dirname, '..', '..', 'fixtures');

export async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, isTty: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Split wine.csv, train a logistic regression on `split.train`, register it as `wine` (alias challenger). */
export function winePipeline(epochs: number): string {
  return `version: 1
name: wine
params:
  seed: 1
data:
  wine:
    path: wine.csv
steps:
  split:
    uses: data.split
    with:
      input: \${data.wine}
      test_fraction: 0.25
      seed: \${params.seed}
    outputs: [train, test]
  train:
    uses: train.logistic-regression
    with:
      train: \${steps.split.outputs.train}
      target: target
      epochs: ${epochs}
      seed: \${params.seed}
    outputs: [model, onnx]
  register:
    uses: model.register
    with:
      model: \${steps.train.outputs.model}
      name: wine
      alias: challenger
`;
}
