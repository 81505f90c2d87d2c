import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { at, base, host, mark } from './fixture.js';

describe('pipeline service: completion', () => {
  test('completion: built-in names with summaries after uses:', () => {
    const { doc, offset } = at(mark(base, 'data.split'));
    const items = pipelineService.completions(doc, offset, host);
    const mlp = items.find((i) => i.label === 'train.mlp');
    assert.ok(mlp, items.map((i) => i.label).join(','));
    assert.equal(mlp.kind, 'builtin');
    assert.match(mlp.documentation ?? '', /multi-layer perceptron/);
  });

  test("completion: with: options of the step's built-in, with defaults, skipping those present", () => {
    const { doc, offset } = at(base.replace('      test_fraction: 0.2\n', '      test_fraction: 0.2\n      |\n'));
    const items = pipelineService.completions(doc, offset, host);
    const labels = items.map((i) => i.label);
    assert.ok(labels.includes('stratify') && labels.includes('seed') && labels.includes('by'), labels.join(','));
    assert.ok(!labels.includes('input') && !labels.includes('test_fraction'), 'present options are not offered again');
    assert.match(items.find((i) => i.label === 'seed')?.detail ?? '', /default 42/);
  });

  test('completion: a half-typed option key is completed from the built-in', () => {
    const { doc, offset } = at(
      base.replace('      target: churned\n      lr:', '      target: churned\n      ear|\n      lr:'),
    );
    const items = pipelineService.completions(doc, offset, host);
    const es = items.find((i) => i.label === 'early_stopping');
    assert.ok(es, items.map((i) => i.label).join(','));
    assert.equal(doc.text.slice(es.replace?.start, es.replace?.end), 'ear');
  });

  test('completion: step keys at step level and top-level keys at the root', () => {
    const step = at(base.replace('    gate:', '    |\n    gate:'));
    const stepLabels = pipelineService.completions(step.doc, step.offset, host).map((i) => i.label);
    assert.ok(
      stepLabels.includes('resources') && stepLabels.includes('needs') && !stepLabels.includes('uses'),
      stepLabels.join(','),
    );
    const top = at(base.replace('deploy:', '|\ndeploy:'));
    const topLabels = pipelineService.completions(top.doc, top.offset, host).map((i) => i.label);
    assert.deepEqual(topLabels.sort(), ['allow_outside', 'description', 'matrix']);
  });

  test("completion: matrix keys and a random search's keys, with their descriptions", () => {
    const m = at(base.replace('deploy:', 'matrix:\n  |\ndeploy:'));
    const items = pipelineService.completions(m.doc, m.offset, host);
    assert.deepEqual(items.map((i) => i.label).sort(), ['parallel', 'params', 'random']);
    const r = at(base.replace('deploy:', 'matrix:\n  random:\n    |\ndeploy:'));
    const random = pipelineService.completions(r.doc, r.offset, host);
    assert.deepEqual(random.map((i) => i.label).sort(), ['n', 'params', 'seed']);
    const seed = random.find((i) => i.label === 'seed');
    assert.match(JSON.stringify(seed), /same seed draws the same values/);
  });

  test("completion: ${ references: namespaces, params, steps, and a step's outputs", () => {
    const ns = at(base.replace('      target: churned\n      lr:', '      target: ${|}\n      lr:'));
    assert.deepEqual(
      pipelineService.completions(ns.doc, ns.offset, host).map((i) => i.label),
      ['params', 'data', 'steps'],
    );
    const params = at(base.replace('      target: churned\n      lr:', '      target: ${params.|}\n      lr:'));
    const p = pipelineService.completions(params.doc, params.offset, host);
    assert.deepEqual(p.map((i) => i.label).sort(), ['epochs', 'lr']);
    assert.equal(p.find((i) => i.label === 'lr')?.detail, 'float = 0.01');
    const steps = at(base.replace('      target: churned\n      lr:', '      target: ${steps.|}\n      lr:'));
    assert.deepEqual(
      pipelineService
        .completions(steps.doc, steps.offset, host)
        .map((i) => i.label)
        .sort(),
      ['evaluate', 'split'],
    );
    const outs = at(base.replace('${steps.split.outputs.test}', '${steps.split.outputs.t|}'));
    const o = pipelineService.completions(outs.doc, outs.offset, host);
    assert.deepEqual(o.map((i) => i.label).sort(), ['future', 'test', 'train', 'valid']);
    assert.equal(
      outs.doc.text.slice(
        o.find((i) => i.label === 'test')?.replace?.start,
        o.find((i) => i.label === 'test')?.replace?.end,
      ),
      't',
    );
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
});
