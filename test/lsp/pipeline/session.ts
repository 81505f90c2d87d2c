import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import type { Position } from 'vscode-languageserver/node';
import { languageServices } from '../../../language-server/src/services/registry.js';
import { fileUri, LspSession, messageOf } from '../helpers/lspClient.js';

// Pipelines end to end through the protocol with the real services, one feature per file beside this one
// (diagnostics, codeActions, completion, hover, definition, references, rename, outline, dependencies): the pipeline
// they share, and a server session opened on it in a folder with its data file and model card.

export const pipeline = `version: 1
name: churn
params:
  lr: 0.01
  epochs: 5
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
  model: \${steps.train.outputs.model}
  card: docs/churn.md
`;

/** Position of the `nth` occurrence of `needle` in `text`, plus `delta` characters. */
export function at(text: string, needle: string, delta = 0, nth = 0): Position {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`test text lacks ${needle}`);
  }
  const before = text.slice(0, i + delta).split('\n');
  return { line: before.length - 1, character: (before[before.length - 1] ?? '').length };
}

export let dir: string;
export let session: LspSession;
export let uri: string;

/** Starts the server on a fresh folder holding the pipeline (checked clean) before the file's tests; stops it after. */
export function usePipelineSession(): void {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-pipeline-'));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.writeFileSync(path.join(dir, 'data', 'customers.csv'), 'age,churned\n30,0\n');
    fs.writeFileSync(path.join(dir, 'cairn.yaml'), pipeline);
    fs.copyFileSync(
      path.join(__dirname, '..', '..', 'fixtures', 'cards', 'complete', 'MODEL_CARD.md'),
      path.join(dir, 'docs', 'churn.md'),
    );
    session = await LspSession.start(languageServices(), { folders: [dir] });
    uri = fileUri(path.join(dir, 'cairn.yaml'));
    const p = await session.open(uri, pipeline, 'cairn-pipeline');
    assert.deepEqual(
      p.diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`),
      [],
      'the test pipeline starts clean',
    );
  });
  after(async () => {
    await session.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** Back to the shared pipeline, checked clean. */
export async function reset(): Promise<void> {
  const p = await session.change(uri, [{ text: pipeline }]);
  assert.deepEqual(p.diagnostics, []);
}
