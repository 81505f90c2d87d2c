import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePipeline, resolvePipeline } from '@cairn/protocol';

const fixtures = join(__dirname, '../../fixtures/pipelines/valid');
const read = (f: string) => readFileSync(join(fixtures, f), 'utf8');

test('resolve: the recommender in topological order with typed, defaulted options and built-in output paths', () => {
  const doc = parsePipeline('/w/recommender.cairn.yaml', read('recommender.cairn.yaml'));
  const { pipeline, diagnostics } = resolvePipeline(doc, { root: '/w', overrides: { lr: '0.05', epochs: 3 } });
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  assert.equal(pipeline.name, 'movie-recommender');
  assert.equal(pipeline.file, '/w/recommender.cairn.yaml');
  assert.deepEqual(pipeline.params.lr, { value: 0.05, type: 'float', secret: false, overridden: true });
  assert.deepEqual(pipeline.params.epochs, { value: 3, type: 'int', secret: false, overridden: true });
  assert.deepEqual(pipeline.params.factors, { value: 32, type: 'int', secret: false, overridden: false });
  assert.deepEqual(
    pipeline.steps.map((s) => `${s.name}<-${s.needs.join('+')}`),
    [
      'collect<-',
      'validate<-collect',
      'split<-validate',
      'features<-split',
      'train<-split',
      'baseline<-split',
      'evaluate<-train+baseline+split',
    ],
  );
  const validate = pipeline.steps[1];
  assert.equal(validate?.with?.input, 'data/ratings.csv');
  assert.equal(validate?.with?.fail_on, 'error', 'defaults are filled in');
  assert.deepEqual(Object.keys(validate?.dataSchemas?.input ?? {}), ['userId', 'movieId', 'rating', 'timestamp']);
  const train = pipeline.steps.find((s) => s.name === 'train');
  assert.equal(train?.with?.factors, 32, "an exact ${params.x} keeps the param's type");
  assert.equal(train?.with?.lr, 0.05);
  assert.equal(train?.with?.ratings, '.cairn/work/split/train.csv');
  assert.deepEqual(train?.outs, { model: '.cairn/work/train/model.json', onnx: '.cairn/work/train/model.onnx' });
  assert.deepEqual(train?.params.sort(), ['epochs', 'factors', 'l2', 'lr', 'seed']);
  assert.deepEqual(train?.resources, { cpu: 2, gpu: 'optional' });
  const evaluate = pipeline.steps.find((s) => s.name === 'evaluate');
  assert.deepEqual(evaluate?.with?.models, ['.cairn/work/train/model.json', '.cairn/work/baseline/model.json']);
  assert.deepEqual(evaluate?.gate, { 'ndcg@k': { min: 0.05 }, rmse: { max: 0.95 } });
  assert.deepEqual(evaluate?.deps.sort(), [
    '.cairn/work/baseline/model.json',
    '.cairn/work/split/test.csv',
    '.cairn/work/train/model.json',
  ]);
  assert.equal(
    pipeline.steps[0]?.run,
    'Rscript -e \'write.csv(dslabs::movielens, "data/ratings.csv", row.names = FALSE)\'',
  );
  assert.deepEqual(pipeline.steps[0]?.outs, { ratings: 'data/ratings.csv' });
  assert.deepEqual(pipeline.deploy?.serve, { host: '127.0.0.1', port: 8080 });
  assert.equal(pipeline.deploy?.model, '.cairn/work/train/model.json');
  assert.deepEqual(pipeline.deploy?.monitor?.drift, {
    default: { test: 'evidently' },
    rating: { test: 'psi', threshold: 0.2 },
  });
  assert.equal(pipeline.deploy?.monitor?.onDrift, 'retrain');
  assert.equal(pipeline.data?.ratings?.path, 'data/ratings.csv');
});

test('resolve: command steps interpolate params, data and outputs; env, metrics, cache', () => {
  const doc = parsePipeline('/w/l.cairn.yaml', read('long-form.cairn.yaml'));
  const { pipeline, diagnostics } = resolvePipeline(doc, { root: '/w', overrides: { api_token: 's3cret' } });
  assert.deepEqual(diagnostics, []);
  const fetch = pipeline?.steps.find((s) => s.name === 'fetch');
  assert.equal(fetch?.run, 'python prep.py --token s3cret --verbose false');
  assert.deepEqual(fetch?.env, { PYTHONHASHSEED: '0', RETRIES: '3' });
  assert.deepEqual(fetch?.outs, { fresh: 'data/fresh.csv' });
  assert.deepEqual(fetch?.metrics, ['metrics/fetch.json']);
  assert.equal(fetch?.cache, false);
  assert.deepEqual(fetch?.params.sort(), ['api_token', 'verbose']);
  assert.equal(pipeline?.params.api_token?.secret, true);
  const split = pipeline?.steps.find((s) => s.name === 'split');
  assert.equal(split?.with?.input, '.cairn/work/validate/clean.csv', '${data.d} with from: resolves to the output');
  assert.deepEqual(split?.needs, ['validate']);
  const train = pipeline?.steps.find((s) => s.name === 'train');
  assert.deepEqual(train?.with?.hidden, [32, 16]);
  assert.deepEqual(train?.with?.early_stopping, { patience: 5, min_delta: 0 });
});

test('resolve: overrides are checked and typed; a param without default must be given', () => {
  const doc = parsePipeline('/w/l.cairn.yaml', read('long-form.cairn.yaml'));
  const missing = resolvePipeline(doc, { root: '/w' });
  assert.equal(missing.pipeline, undefined);
  assert.deepEqual(
    missing.diagnostics.map((d) => d.code),
    ['missing-param'],
  );
  assert.match(missing.diagnostics[0]?.message ?? '', /-p api_token=VALUE/);
  const bad = resolvePipeline(doc, {
    root: '/w',
    overrides: { api_token: 'x', epochs: 'ten', nope: '1', hidden: '[1, 2]', verbose: 'true' },
  });
  assert.equal(bad.pipeline, undefined);
  assert.deepEqual(bad.diagnostics.map((d) => d.code).sort(), ['bad-override', 'bad-override']);
  const good = resolvePipeline(doc, {
    root: '/w',
    overrides: { api_token: 'x', hidden: '[8]', verbose: 'true', lr: '1e-3' },
  });
  assert.deepEqual(good.diagnostics, []);
  assert.deepEqual(good.pipeline?.params.hidden?.value, [8]);
  assert.equal(good.pipeline?.params.verbose?.value, true);
  assert.equal(good.pipeline?.params.lr?.value, 0.001);
});

test('resolve: an override that breaks an option after interpolation is an error on the option', () => {
  const doc = parsePipeline('/w/l.cairn.yaml', read('long-form.cairn.yaml'));
  const r = resolvePipeline(doc, { root: '/w', overrides: { api_token: 'x', epochs: '0' } });
  assert.equal(r.pipeline, undefined);
  assert.deepEqual(
    r.diagnostics.map((d) => d.code),
    ['option-type'],
  );
  assert.match(r.diagnostics[0]?.message ?? '', /epochs/);
});

test('resolve: findings that are errors stop it; missing files only when a host is given', () => {
  const broken = parsePipeline('/w/b.cairn.yaml', 'version: 1\nsteps:\n  a:\n    run: echo ${params.x}\n');
  const r = resolvePipeline(broken, { root: '/w' });
  assert.equal(r.pipeline, undefined);
  assert.deepEqual(
    r.diagnostics.map((d) => d.code),
    ['unknown-param'],
  );
  const deps = parsePipeline('/w/d.cairn.yaml', 'version: 1\nsteps:\n  a:\n    run: cat in.csv\n    deps: [in.csv]\n');
  assert.ok(resolvePipeline(deps, { root: '/w' }).pipeline, 'no host: files are assumed present');
  const withHost = resolvePipeline(deps, { root: '/w', host: { fileExists: () => false } });
  assert.deepEqual(
    withHost.diagnostics.map((d) => d.code),
    ['missing-file'],
  );
  assert.ok(withHost.pipeline, 'a missing file is a warning: the run reports it when the step starts');
});
