import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../language-server/src/services/pipeline/index.js';
import type { WorkspaceHost } from '../../../language-server/src/services/types.js';
import { cursor } from './helpers.js';

const file = '/work/project/cairn.yaml';
const existing = new Set(['/work/project/data/customers.csv', '/work/project/docs/card.md']);
const host: WorkspaceHost = { fileExists: (f) => existing.has(f), readText: () => undefined, pipelinesNamingCard: () => [] };

const base = `version: 1
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
function at(marked: string) {
  const { text, offset } = cursor(marked);
  return { doc: pipelineService.parse(file, text), offset, text };
}

function mark(text: string, needle: string, delta = 0): string {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`no ${needle}`);
  return text.slice(0, i + delta) + '|' + text.slice(i + delta);
}

describe('pipeline service', () => {
  test('the base document is clean', () => {
    const doc = pipelineService.parse(file, base);
    assert.deepEqual(pipelineService.diagnostics(doc, host), []);
  });

  test('completion: built-in names with summaries after uses:', () => {
    const { doc, offset } = at(mark(base, 'data.split'));
    const items = pipelineService.completions(doc, offset, host);
    const mlp = items.find((i) => i.label === 'train.mlp');
    assert.ok(mlp, items.map((i) => i.label).join(','));
    assert.equal(mlp.kind, 'builtin');
    assert.match(mlp.documentation ?? '', /multi-layer perceptron/);
  });

  test('completion: with: options of the step\'s built-in, with defaults, skipping those present', () => {
    const { doc, offset } = at(base.replace('      test_fraction: 0.2\n', '      test_fraction: 0.2\n      |\n'));
    const items = pipelineService.completions(doc, offset, host);
    const labels = items.map((i) => i.label);
    assert.ok(labels.includes('stratify') && labels.includes('seed') && labels.includes('by'), labels.join(','));
    assert.ok(!labels.includes('input') && !labels.includes('test_fraction'), 'present options are not offered again');
    assert.match(items.find((i) => i.label === 'seed')?.detail ?? '', /default 42/);
  });

  test('completion: a half-typed option key is completed from the built-in', () => {
    const { doc, offset } = at(base.replace('      target: churned\n      lr:', '      target: churned\n      ear|\n      lr:'));
    const items = pipelineService.completions(doc, offset, host);
    const es = items.find((i) => i.label === 'early_stopping');
    assert.ok(es, items.map((i) => i.label).join(','));
    assert.equal(doc.text.slice(es.replace?.start, es.replace?.end), 'ear');
  });

  test('completion: step keys at step level and top-level keys at the root', () => {
    const step = at(base.replace('    gate:', '    |\n    gate:'));
    const stepLabels = pipelineService.completions(step.doc, step.offset, host).map((i) => i.label);
    assert.ok(stepLabels.includes('resources') && stepLabels.includes('needs') && !stepLabels.includes('uses'), stepLabels.join(','));
    const top = at(base.replace('deploy:', '|\ndeploy:'));
    const topLabels = pipelineService.completions(top.doc, top.offset, host).map((i) => i.label);
    assert.deepEqual(topLabels.sort(), ['allow_outside', 'description']);
  });

  test('completion: ${ references: namespaces, params, steps, and a step\'s outputs', () => {
    const ns = at(base.replace('      target: churned\n      lr:', '      target: ${|}\n      lr:'));
    assert.deepEqual(pipelineService.completions(ns.doc, ns.offset, host).map((i) => i.label), ['params', 'data', 'steps']);
    const params = at(base.replace('      target: churned\n      lr:', '      target: ${params.|}\n      lr:'));
    const p = pipelineService.completions(params.doc, params.offset, host);
    assert.deepEqual(p.map((i) => i.label).sort(), ['epochs', 'lr']);
    assert.equal(p.find((i) => i.label === 'lr')?.detail, 'float = 0.01');
    const steps = at(base.replace('      target: churned\n      lr:', '      target: ${steps.|}\n      lr:'));
    assert.deepEqual(pipelineService.completions(steps.doc, steps.offset, host).map((i) => i.label).sort(), ['evaluate', 'split']);
    const outs = at(base.replace('${steps.split.outputs.test}', '${steps.split.outputs.t|}'));
    const o = pipelineService.completions(outs.doc, outs.offset, host);
    assert.deepEqual(o.map((i) => i.label).sort(), ['future', 'test', 'train', 'valid']);
    assert.equal(outs.doc.text.slice(o.find((i) => i.label === 'test')?.replace?.start, o.find((i) => i.label === 'test')?.replace?.end), 't');
  });

  test('completion: metric names under gate:', () => {
    const { doc, offset } = at(base.replace('      accuracy: { min: 0.7 }', '      accuracy: { min: 0.7 }\n      |'));
    const labels = pipelineService.completions(doc, offset, host).map((i) => i.label);
    assert.ok(labels.includes('roc_auc') && labels.includes('f1') && !labels.includes('accuracy'), labels.join(','));
  });

  test('completion: enum values of a key', () => {
    const { doc, offset } = at(base.replace('    gate:', '    resources: { gpu: | }\n    gate:'));
    const labels = pipelineService.completions(doc, offset, host).map((i) => i.label);
    assert.deepEqual(labels, ['none', 'optional', 'required']);
  });

  test('hover: a param reference shows its resolved value and type', () => {
    const { doc, offset } = at(mark(base, '${params.epochs}', 10));
    const h = pipelineService.hover(doc, offset, host);
    assert.match(h?.contents ?? '', /param epochs\*\*: int = `5`/);
    assert.match(h?.contents ?? '', /Passes over the data/);
    assert.equal(doc.text.slice(h?.span.start, h?.span.end), '${params.epochs}');
  });

  test('hover: an output reference shows its path; a built-in its docs; an option its docs and default', () => {
    const out = at(mark(base, '${steps.train.outputs.model}', 23));
    assert.match(pipelineService.hover(out.doc, out.offset, host)?.contents ?? '', /\.cairn\/work\/train\/model\.json/);
    const b = at(mark(base, 'evaluate.classification', 3));
    assert.match(pipelineService.hover(b.doc, b.offset, host)?.contents ?? '', /ROC-AUC/);
    const opt = at(mark(base, 'test_fraction', 2));
    assert.match(pipelineService.hover(opt.doc, opt.offset, host)?.contents ?? '', /default `0\.2`/);
    const key = at(mark(base, 'gate:', 1));
    assert.match(pipelineService.hover(key.doc, key.offset, host)?.contents ?? '', /Evaluation gates/);
  });

  test('definition: params, steps, outputs, needs and data files', () => {
    const p = at(mark(base, '${params.lr}', 10));
    const [d] = pipelineService.definition(p.doc, p.offset, host);
    assert.equal(p.doc.text.slice(d?.span.start, d?.span.end), 'lr');
    assert.equal(d?.span.start, p.doc.text.indexOf('  lr: 0.01') + 2);
    const s = at(mark(base, '${steps.split.outputs.train}', 9));
    assert.equal(pipelineService.definition(s.doc, s.offset, host)[0]?.span.start, s.doc.text.indexOf('  split:') + 2);
    const f = at(mark(base, 'data/customers.csv', 3));
    assert.deepEqual(pipelineService.definition(f.doc, f.offset, host), [{ file: '/work/project/data/customers.csv', span: { start: 0, end: 0 } }]);
  });

  test('references: a step is found in every ${steps...} and needs', () => {
    const text = base.replace('    uses: evaluate.classification', '    uses: evaluate.classification\n    needs: [split]');
    const { doc, offset } = at(mark(text, '  split:', 3));
    const refs = pipelineService.references(doc, offset, host, true);
    assert.equal(refs.length, 4);
    assert.ok(refs.every((r) => doc.text.slice(r.span.start, r.span.end) === 'split'));
    assert.equal(pipelineService.references(doc, offset, host, false).length, 3);
  });

  test('rename: a param, with the key and every use, and the result checks clean', () => {
    const { doc, offset } = at(mark(base, '  lr: 0.01', 3));
    assert.deepEqual(pipelineService.prepareRename(doc, offset), { start: offset - 1, end: offset + 1 });
    const result = pipelineService.rename(doc, offset, 'learning_rate', host);
    assert.ok('edits' in result);
    const edited = [...result.edits].sort((a, b) => b.span.start - a.span.start).reduce((t, e) => t.slice(0, e.span.start) + e.newText + t.slice(e.span.end), doc.text);
    assert.match(edited, /learning_rate: 0\.01/);
    assert.match(edited, /\$\{params\.learning_rate\}/);
    assert.deepEqual(pipelineService.diagnostics(pipelineService.parse(file, edited), host), []);
  });

  test('rename: a command-step output, and refusals', () => {
    const text = `version: 1\nsteps:\n  a:\n    run: make\n    outputs: { table: t.csv }\n  b:\n    run: cat \${steps.a.outputs.table}\n    metrics: [m.json]\n`;
    const { doc, offset } = at(mark(text, 'table}', 2));
    const r = pipelineService.rename(doc, offset, 'rows', host);
    assert.ok('edits' in r && r.edits.length === 2);
    const bad = pipelineService.rename(doc, offset, 'not a name', host);
    assert.ok('error' in bad);
    const taken = at(mark(base, '  split:', 3));
    assert.ok('error' in pipelineService.rename(taken.doc, taken.offset, 'train', host));
    // Built-in outputs are the catalogue's names.
    const builtinOut = at(mark(base, '${steps.split.outputs.train}', 23));
    assert.equal(pipelineService.prepareRename(builtinOut.doc, builtinOut.offset), undefined);
  });

  test('symbols: params, data, steps with outputs, deploy', () => {
    const doc = pipelineService.parse(file, base);
    const symbols = pipelineService.symbols(doc);
    assert.deepEqual(
      symbols.map((s) => s.name),
      ['version', 'name', 'params', 'data', 'steps', 'deploy'],
    );
    const steps = symbols.find((s) => s.name === 'steps');
    assert.deepEqual(steps?.children.map((c) => c.name), ['split', 'train', 'evaluate']);
    assert.deepEqual(steps?.children[1]?.children.map((c) => c.name), ['model', 'onnx']);
  });

  test('dependencies: data files and the card, absolute', () => {
    const doc = pipelineService.parse(file, base);
    assert.deepEqual(pipelineService.dependencies(doc, host).sort(), ['/work/project/data/customers.csv', '/work/project/docs/card.md']);
  });

  test('diagnostics carry quick fixes; missing files go through the host', () => {
    const doc = pipelineService.parse(file, base.replace('data/customers.csv', 'data/clients.csv').replace('    gate:', '    gates:'));
    const ds = pipelineService.diagnostics(doc, host);
    assert.deepEqual(ds.map((d) => d.code), ['missing-file', 'unknown-key']);
    assert.equal(ds[1]?.fixes?.[0]?.newText, 'gate');
  });
});
