import * as path from 'node:path';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import { main } from '../../../runtime/src/cli/main.js';
import { builtinStep, commandStep, pipelineOf } from '../engine/helpers.js';

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
/** One row of the wine data (its input columns), for requests to a served wine model. */
export const wineRow = {
  alcohol: 13.2,
  malic_acid: 1.78,
  ash: 2.14,
  alcalinity_of_ash: 11.2,
  magnesium: 100,
  total_phenols: 2.65,
  flavanoids: 2.76,
  nonflavanoid_phenols: 0.26,
  proanthocyanins: 1.28,
  color_intensity: 4.38,
  hue: 1.05,
  od280_od315_of_diluted_wines: 3.4,
  proline: 1050,
};

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

/**
 * train (popularity) → evaluate (a command printing rmse 0.9137, gated on `rmse ≤ maxRmse`) → register as `recs`;
 * `registerNeedsEvaluate` false registers straight after train (the gate is then not upstream of the version).
 */
export function gatedRecsPipeline(root: string, maxRmse: number, registerNeedsEvaluate: boolean, card?: string) {
  return pipelineOf(root, [
    builtinStep(
      'train',
      'train.popularity',
      { ratings: 'ratings.csv', user: 'userId', item: 'movieId', rating: 'rating' },
      { outs: { model: 'models/pop.json' } },
    ),
    commandStep('evaluate', 'echo "::cairn-metric rmse=0.9137"', {
      needs: ['train'],
      deps: ['models/pop.json'],
      gate: { rmse: { max: maxRmse } },
    }),
    builtinStep(
      'register',
      'model.register',
      { model: 'models/pop.json', name: 'recs', ...(card ? { card } : {}) },
      { needs: registerNeedsEvaluate ? ['train', 'evaluate'] : ['train'] },
    ),
  ]);
}
