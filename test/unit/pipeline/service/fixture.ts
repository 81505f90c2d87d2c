import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import type { WorkspaceHost } from '../../../../language-server/src/services/types.js';
import { cursor } from '../helpers.js';

// The pipeline the service tests share (one file per feature beside this one), its workspace, and cursor helpers.

export const file = '/work/project/cairn.yaml';
const existing = new Set(['/work/project/data/customers.csv', '/work/project/docs/card.md']);
export const host: WorkspaceHost = {
  fileExists: (f) => existing.has(f),
  readText: () => undefined,
  pipelinesNamingCard: () => [],
};

export const base = `version: 1
name: churn
params:
  lr: 0.01
  epochs: { type: int, default: 5, description: Passes over the data. }
data:
  customers: data/customers.csv
steps:
  split:
    uses: data.split
    with:
      input: \${data.customers}
      test_fraction: 0.2
  train:
    uses: train.logistic-regression
    with:
      train: \${steps.split.outputs.train}
      target: churned
      lr: \${params.lr}
      epochs: \${params.epochs}
  evaluate:
    uses: evaluate.classification
    with:
      model: \${steps.train.outputs.model}
      test: \${steps.split.outputs.test}
      target: churned
    gate:
      accuracy: { min: 0.7 }
deploy:
  model: \${steps.train.outputs.onnx}
  card: docs/card.md
`;

/** Parses `marked` (with a `|` cursor) and returns the document and the cursor offset. */
export function at(marked: string) {
  const { text, offset } = cursor(marked);
  return { doc: pipelineService.parse(file, text), offset, text };
}

export function mark(text: string, needle: string, delta = 0): string {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`no ${needle}`);
  return text.slice(0, i + delta) + '|' + text.slice(i + delta);
}
