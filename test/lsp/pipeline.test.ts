import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CodeActionKind, FileChangeType, type Position } from 'vscode-languageserver/node';
import { languageServices } from '../../language-server/src/services/registry.js';
import { applyEdits, fileUri, LspSession, messageOf } from './helpers/lspClient.js';

// Pipelines end to end through the protocol with the real services: diagnostics, quick fixes, completion, hover,
// navigation, rename, outline, and the cross-file links to data files and the model card.

const pipeline = `version: 1
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
function at(text: string, needle: string, delta = 0, nth = 0): Position {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`test text lacks ${needle}`);
  }
  const before = text.slice(0, i + delta).split('\n');
  return { line: before.length - 1, character: (before[before.length - 1] ?? '').length };
}

let dir: string;
let session: LspSession;
let uri: string;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-pipeline-'));
  fs.mkdirSync(path.join(dir, 'data'));
  fs.mkdirSync(path.join(dir, 'docs'));
  fs.writeFileSync(path.join(dir, 'data', 'customers.csv'), 'age,churned\n30,0\n');
  fs.writeFileSync(path.join(dir, 'cairn.yaml'), pipeline);
  fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'cards', 'complete', 'MODEL_CARD.md'), path.join(dir, 'docs', 'churn.md'));
  session = await LspSession.start(languageServices(), { folders: [dir] });
  uri = fileUri(path.join(dir, 'cairn.yaml'));
  const p = await session.open(uri, pipeline, 'cairn-pipeline');
  assert.deepEqual(p.diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`), [], 'the test pipeline starts clean');
});
after(async () => {
  await session.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function reset(): Promise<void> {
  const p = await session.change(uri, [{ text: pipeline }]);
  assert.deepEqual(p.diagnostics, []);
}

describe('pipelines through the language server', () => {
  test('a did-you-mean finding has its exact range, and its preferred quick fix clears it', async () => {
    const broken = pipeline.replace('    gate:', '    gates:');
    const p = await session.change(uri, [{ text: broken }]);
    const d = p.diagnostics.find((x) => x.code === 'unknown-key');
    assert.ok(d, `unknown-key reported; got ${p.diagnostics.map((x) => String(x.code)).join(', ')}`);
    assert.deepEqual(d.range, { start: at(broken, 'gates:'), end: at(broken, 'gates:', 5) });
    assert.match(messageOf(d), /gate/);
    const actions = await session.codeActions(uri, d.range, [d]);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, `one preferred fix; got ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(preferred[0]?.kind, CodeActionKind.QuickFix);
    const fixed = applyEdits(broken, preferred[0]?.edit?.changes?.[uri] ?? []);
    assert.equal(fixed, pipeline);
    assert.deepEqual((await session.change(uri, [{ text: fixed }])).diagnostics, []);
  });

  test('a deploy.ab.split whose shares do not add up to 1 is underlined on the split; its quick fix sets the challenger share', async () => {
    const good = `${pipeline}  ab:\n    split: { champion: 0.9, challenger: 0.1 }\n`;
    const broken = good.replace('challenger: 0.1', 'challenger: 0.2');
    const p = await session.change(uri, [{ text: broken }]);
    assert.deepEqual(
      p.diagnostics.map((x) => String(x.code)),
      ['ab-split'],
    );
    const d = p.diagnostics[0];
    assert.ok(d);
    assert.deepEqual(d.range, { start: at(broken, '{ champion'), end: at(broken, '0.2 }', 5) });
    assert.match(messageOf(d), /^deploy\.ab\.split shares add up to 1\.1, not 1: .*write challenger: 0\.1/);
    const actions = await session.codeActions(uri, d.range, [d]);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, `one preferred fix; got ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(applyEdits(broken, preferred[0]?.edit?.changes?.[uri] ?? []), good);
    assert.deepEqual((await session.change(uri, [{ text: good }])).diagnostics, []);
    await reset();
  });

  test('incremental edits: a typo in a reference is found at its place, then fixed by a one-character edit', async () => {
    const pos = at(pipeline, 'params.lr}', 'params.'.length + 1);
    const p = await session.change(uri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 1 } }, text: 'x' }]);
    const d = p.diagnostics.find((x) => x.code === 'unknown-param');
    assert.ok(d, `unknown-param; got ${p.diagnostics.map((x) => String(x.code)).join(', ')}`);
    assert.equal(d.range.start.line, pos.line);
    const back = await session.change(uri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 1 } }, text: 'r' }]);
    assert.deepEqual(back.diagnostics, []);
  });

  test('completion offers built-in names, param references and step keys', async () => {
    const builtinItems = await session.completion(uri, at(pipeline, 'data.split', 0));
    assert.ok(builtinItems.some((i) => i.label === 'train.mlp'), `built-ins: ${builtinItems.map((i) => i.label).slice(0, 8).join(', ')}`);
    const withParam = pipeline.replace('      target: churned\n      lr:', '      target: ${params.}\n      lr:');
    await session.change(uri, [{ text: withParam }]);
    const paramItems = await session.completion(uri, at(withParam, '${params.}', '${params.'.length));
    assert.deepEqual(paramItems.map((i) => i.label).filter((l) => l === 'lr' || l === 'epochs').sort(), ['epochs', 'lr']);
    const withKey = pipeline.replace('    gate:', '    \n    gate:');
    await session.change(uri, [{ text: withKey }]);
    const keyItems = await session.completion(uri, at(withKey, '    \n    gate:', 4));
    assert.ok(keyItems.some((i) => i.label === 'needs'), `step keys: ${keyItems.map((i) => i.label).join(', ')}`);
    await reset();
  });

  test('hover documents built-ins and resolves param values', async () => {
    const builtin = await session.hover(uri, at(pipeline, 'train.logistic-regression', 3));
    assert.ok(builtin, 'hover on a built-in');
    assert.match(JSON.stringify(builtin.contents), /logistic/i);
    const param = await session.hover(uri, at(pipeline, '${params.lr}', 10));
    assert.match(JSON.stringify(param?.contents ?? ''), /0\.01/);
  });

  test('definition and references connect params, steps and outputs', async () => {
    const defs = await session.definition(uri, at(pipeline, '${params.lr}', 10));
    assert.deepEqual(defs.map((d) => [d.uri, d.range.start]), [[uri, at(pipeline, '  lr: 0.01', 2)]]);
    const stepDefs = await session.definition(uri, at(pipeline, '${steps.split.outputs.train}', 9));
    assert.deepEqual(stepDefs[0]?.range.start, at(pipeline, '  split:', 2));
    const refs = await session.references(uri, at(pipeline, '  split:', 3));
    assert.ok(refs.length >= 3, `split is declared once and used twice: ${refs.length}`);
    assert.ok(refs.every((r) => r.uri === uri));
  });

  test('rename of a step updates every reference and leaves the pipeline clean', async () => {
    const range = await session.prepareRename(uri, at(pipeline, '  split:', 3));
    assert.deepEqual(range, { start: at(pipeline, '  split:', 2), end: at(pipeline, '  split:', 7) });
    const edit = await session.rename(uri, at(pipeline, '  split:', 3), 'holdout');
    const renamed = applyEdits(pipeline, edit?.changes?.[uri] ?? []);
    assert.equal(renamed.match(/\bsplit\b/g)?.length, 1, 'only the built-in name data.split keeps the word');
    assert.match(renamed, /\$\{steps\.holdout\.outputs\.train\}/);
    assert.deepEqual((await session.change(uri, [{ text: renamed }])).diagnostics, []);
    await assert.rejects(session.rename(uri, at(renamed, '  holdout:', 3), 'not a name'), (e: Error) => e.message.length > 0);
    await reset();
  });

  test('the outline lists params, data and steps', async () => {
    const symbols = await session.symbols(uri);
    const names = JSON.stringify(symbols.map((s) => [s.name, (s.children ?? []).map((c) => c.name)]));
    for (const name of ['lr', 'customers', 'split', 'train', 'evaluate']) assert.ok(names.includes(`"${name}"`), `${name} in ${names}`);
  });

  test('cross-file: a missing data file is reported until it exists, then re-checked on the watcher event', async () => {
    const missing = pipeline.replace('data/customers.csv', 'data/clients.csv');
    const p = await session.change(uri, [{ text: missing }]);
    assert.deepEqual(p.diagnostics.map((d) => d.code), ['missing-file']);
    fs.writeFileSync(path.join(dir, 'data', 'clients.csv'), 'age,churned\n');
    const healed = session.waitForDiagnostics(uri, (x) => x.diagnostics.length === 0);
    await session.filesChanged([{ uri: fileUri(path.join(dir, 'data', 'clients.csv')), type: FileChangeType.Created }]);
    await healed;
    await reset();
  });

  test('the Markdown file the pipeline names as its card is checked as a model card', async () => {
    const cardUri = fileUri(path.join(dir, 'docs', 'churn.md'));
    const text = fs.readFileSync(path.join(dir, 'docs', 'churn.md'), 'utf8');
    const broken = text.replace(/^license: .*$/m, 'license: not-a-license');
    const p = await session.open(cardUri, broken, 'markdown');
    assert.ok(p.diagnostics.some((d) => d.code === 'card/unknown-license'), `card diagnostics: ${p.diagnostics.map((d) => String(d.code)).join(', ')}`);
    await session.close(cardUri);
  });
});
