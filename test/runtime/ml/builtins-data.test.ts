import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StepError } from '../../../runtime/src/builtins/types.js';
import '../../../runtime/src/builtins/data.js';
import '../../../runtime/src/builtins/features.js';
import '../../../runtime/src/builtins/drift.js';
import { deps } from '../../../runtime/src/builtins/evaluate.js';
import { main } from '../../../runtime/src/cli/main.js';
import { readCsv } from '../../../runtime/src/ml/data/index.js';
import type { Predictor, Table } from '../../../runtime/src/ml/types.js';
import { fixtures } from './golden.js';
import { runBuiltin } from './runBuiltin.js';
import {
  AttributeType,
  DataType,
  encodeModel,
  type ModelMsg,
  type ValueInfoMsg,
} from '../../../runtime/src/ml/onnx/schema.js';
import { floatTensorProto } from '../../../runtime/src/ml/onnx/tensor.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cairn-builtins-'));

interface Run {
  metrics: Map<string, number>;
  logs: string[];
  outputs: Record<string, string>;
}

async function run(name: string, options: Record<string, unknown>, outputs: string[]): Promise<Run> {
  const stepDir = mkdtempSync(path.join(dir, `${name}-`));
  const files = Object.fromEntries(outputs.map((o) => [o, path.join(stepDir, o.includes('.') ? o : `${o}.out`)]));
  return { ...(await runBuiltin(name, dir, options, files)), outputs: files };
}

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

const people = write(
  'people.csv',
  [
    'id,email,age,segment,score,label',
    ...Array.from(
      { length: 40 },
      (_, i) =>
        `${i},user${i}@example.com,${20 + (i % 30)},${['a', 'b'][i % 2]},${(i * 37) % 100},${i % 3 === 0 ? 1 : 0}`,
    ),
  ].join('\n'),
);

test('data.load writes the clean table and the inferred schema; flags personal data', async () => {
  const r = await run('data.load', { path: people }, ['data', 'schema']);
  assert.equal(r.metrics.get('rows'), 40);
  assert.equal(r.metrics.get('columns'), 6);
  const schema = JSON.parse(readFileSync(r.outputs.schema as string, 'utf8')) as {
    columns: Record<string, { type: string }>;
  };
  assert.equal(schema.columns.age?.type, 'int');
  assert.equal(schema.columns.segment?.type, 'category');
  assert.ok(r.logs.some((l) => /personal data\? column 'email'/.test(l)));
  assert.equal((await readCsv(r.outputs.data as string)).rowCount, 40);
  await assert.rejects(
    run('data.load', { path: write('ragged.csv', 'a,b\n1\n') }, ['data', 'schema']),
    (e: unknown) => e instanceof StepError && /ragged\.csv:2: row has 1 field/.test(e.message),
  );
  await assert.rejects(
    run('data.load', { path: write('empty.csv', '') }, ['data', 'schema']),
    /empty\.csv: the file is empty/,
  );
});

test('data.validate: fails on errors with a clear message, drops rows when asked, reports', async () => {
  const bad = write('bad.csv', 'id,age\n1,30\n2,\n3,200\n');
  const schema = { id: { type: 'int', unique: true }, age: { type: 'int', min: 0, max: 120 } };
  await assert.rejects(
    run('data.validate', { input: bad, schema }, ['clean', 'report']),
    (e: unknown) =>
      e instanceof StepError &&
      /bad\.csv: 2 data-quality findings \(fail_on: error\); first: 1 missing values in required column 'age'/.test(
        e.message,
      ),
  );
  const ok = await run('data.validate', { input: bad, schema, fail_on: 'never' }, ['clean', 'report']);
  assert.equal(ok.metrics.get('rows'), 1);
  assert.equal(ok.metrics.get('dropped_rows'), 2);
  const report = JSON.parse(readFileSync(ok.outputs.report as string, 'utf8')) as {
    findings: Array<{ rule: string; lines: number[] }>;
  };
  assert.deepEqual(
    report.findings.map((f) => [f.rule, f.lines]),
    [
      ['required', [3]],
      ['range', [4]],
    ],
  );
  const inferred = await run('data.validate', { input: people }, ['clean', 'report']);
  assert.ok(inferred.logs.some((l) => /personal data in: email/.test(l)));
});

test('data.split and features.* write their outputs', async () => {
  const s = await run('data.split', { input: people, test_fraction: 0.25, valid_fraction: 0.25, stratify: 'label' }, [
    'train',
    'test',
    'valid',
  ]);
  // Per class: round(14 · 0.25) + round(26 · 0.25) = 4 + 7.
  assert.equal(s.metrics.get('test_rows'), 11);
  assert.ok(existsSync(s.outputs.valid as string));
  const t = await run(
    'features.transform',
    { input: s.outputs.train, standardize: ['age', 'score'], one_hot: ['segment'], drop: ['email'], target: 'label' },
    ['data', 'transform'],
  );
  const applied = await run('features.apply', { input: s.outputs.test, transform: t.outputs.transform }, ['data']);
  const out = await readCsv(applied.outputs.data as string);
  assert.deepEqual(
    out.columns.map((c) => c.name),
    ['id', 'age', 'segment=a', 'segment=b', 'score', 'label'],
  );
  const ratings = write('ratings.csv', 'userId,itemId,rating,timestamp\n1,10,4,100\n1,11,3,200\n2,10,5,300\n');
  const st = await run('features.user-item-stats', { input: ratings, time: 'timestamp' }, ['users', 'items']);
  assert.equal(st.metrics.get('users'), 2);
  assert.equal(st.metrics.get('items'), 2);
});

test('drift.check writes the report and the share as metrics', async () => {
  const n = 200;
  const ref = write(
    'ref.csv',
    ['x,c', ...Array.from({ length: n }, (_, i) => `${(i * 7919) % 1000},${['u', 'v'][i % 2]}`)].join('\n'),
  );
  const cur = write(
    'cur.csv',
    ['x,c', ...Array.from({ length: n }, (_, i) => `${((i * 7919) % 1000) + 400},${['u', 'v'][i % 2]}`)].join('\n'),
  );
  const r = await run('drift.check', { reference: ref, current: cur }, ['report']);
  assert.equal(r.metrics.get('drifted_columns'), 1);
  assert.equal(r.metrics.get('share_drifted'), 0.5);
  const report = JSON.parse(readFileSync(r.outputs.report as string, 'utf8')) as {
    features: Array<{ name: string; method: string; drifted: boolean }>;
  };
  assert.deepEqual(
    report.features.map((f) => [f.name, f.method, f.drifted]),
    [
      ['x', 'ks', true],
      ['c', 'chisquare', false],
    ],
  );
  await assert.rejects(
    run('drift.check', { reference: ref, current: cur, columns: ['nope'] }, ['report']),
    (e: unknown) => e instanceof StepError && /column 'nope' is not in the reference and current data/.test(e.message),
  );
});

test('evaluate.* on fake predictors: classification with slices and fairness, regression, ranking', async () => {
  const probaOf = (t: Table) => {
    const score = t.columns.find((c) => c.name === 'score');
    assert.ok(score && score.type !== 'string');
    const v = new Float64Array(t.rowCount * 2);
    for (let i = 0; i < t.rowCount; i++) {
      v[2 * i + 1] = (score.values[i] as number) / 100;
      v[2 * i] = 1 - (score.values[i] as number) / 100;
    }
    return v;
  };
  const fakes: Record<string, Predictor> = {
    clf: {
      kind: 'tabular',
      task: 'classification',
      classes: [0, 1],
      inputColumns: ['score'],
      predict: (t) => Promise.resolve({ values: probaOf(t), width: 2 }),
    },
    reg: {
      kind: 'tabular',
      task: 'regression',
      inputColumns: ['score'],
      predict: (t) =>
        Promise.resolve({
          values: probaOf(t)
            .filter((_, i) => i % 2 === 1)
            .map((v) => 20 + v * 30),
          width: 1,
        }),
    },
    rec: {
      kind: 'recommender',
      score: (us) => Promise.resolve(new Float64Array(us.length).fill(4)),
      recommend: (us, k) => Promise.resolve(us.map(() => [10, 11, 12].slice(0, k))),
      catalogue: () => [10, 11, 12, 13],
    },
  };
  const real = deps.loadPredictor;
  deps.loadPredictor = (p: string) => {
    const f = fakes[path.basename(p)];
    return f ? Promise.resolve(f) : Promise.reject(new Error(`no fake ${p}`));
  };
  const c = await run('evaluate.classification', { model: 'clf', test: people, target: 'label', slices: ['segment'] }, [
    'report',
  ]);
  for (const k of [
    'accuracy',
    'precision',
    'recall',
    'f1',
    'roc_auc',
    'pr_auc',
    'log_loss',
    'demographic_parity_difference',
    'equal_opportunity_difference',
  ]) {
    assert.ok(Number.isFinite(c.metrics.get(k)), `${k} recorded`);
  }
  const report = JSON.parse(readFileSync(c.outputs.report as string, 'utf8')) as {
    slices: Array<{ groups: unknown[] }>;
  };
  assert.equal(report.slices[0]?.groups.length, 2);
  const r = await run('evaluate.regression', { model: 'reg', test: people, target: 'age', slices: ['segment'] }, [
    'report',
  ]);
  assert.ok(Number.isFinite(r.metrics.get('rmse')) && Number.isFinite(r.metrics.get('r2')));
  await assert.rejects(
    run('evaluate.regression', { model: 'clf', test: people, target: 'age' }, ['report']),
    /is a classification model; use evaluate\.classification/,
  );
  const test_ = write('heldout.csv', 'userId,itemId,rating\n1,10,5\n1,13,4\n2,12,2\n');
  const k = await run(
    'evaluate.ranking',
    {
      models: ['rec'],
      test: test_,
      k: 2,
      metrics: ['rmse', 'precision@k', 'recall@k', 'ndcg@k', 'map@k', 'hit_rate@k', 'coverage'],
    },
    ['report'],
  );
  assert.equal(k.metrics.get('precision@2'), 0.5);
  assert.equal(k.metrics.get('recall@2'), 0.5);
  assert.equal(k.metrics.get('hit_rate@2'), 1);
  assert.equal(k.metrics.get('coverage'), 0.5);
  assert.ok(Math.abs((k.metrics.get('rmse') ?? 0) - Math.sqrt((1 + 0 + 4) / 3)) < 1e-12);
  deps.loadPredictor = real;
});

test('evaluate.classification on a real ONNX classifier through loadPredictor (onnxruntime-node)', async () => {
  // logits = [a − b, b − a] → P(reject) = σ(2(b − a)); classes from the model's metadata, as sklearn-onnx exports.
  const vi = (name: string): ValueInfoMsg => ({
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: [{ dimParam: 'N' }, { dimValue: name === 'probabilities' ? 2 : 1 }] },
      },
    },
  });
  const axis = (n: number) => [{ name: 'axis', type: AttributeType.INT, i: n }];
  const model: ModelMsg = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'test',
    graph: {
      name: 'g',
      node: [
        { opType: 'Concat', input: ['a', 'b'], output: ['x'], attribute: axis(1) },
        { opType: 'MatMul', input: ['x', 'W'], output: ['logits'], attribute: [] },
        { opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: axis(1) },
      ],
      initializer: [floatTensorProto('W', [2, 2], [1, -1, -1, 1])],
      input: [vi('a'), vi('b')],
      output: [vi('probabilities')],
    },
    metadataProps: [{ key: 'cairn.classes', value: '["approve","reject"]' }],
  };
  const modelFile = path.join(dir, 'clf.onnx');
  writeFileSync(modelFile, encodeModel(model));
  const rows = [
    [2, 0, 'approve'],
    [0, 2, 'reject'],
    [1, 0.5, 'approve'],
    [0.2, 0.9, 'approve'],
    [0.3, 0.1, 'reject'],
    [0, 1, 'reject'],
  ] as const;
  const testFile = write('onnx-test.csv', ['a,b,decision', ...rows.map((r) => r.join(','))].join('\n'));
  const r = await run('evaluate.classification', { model: modelFile, test: testFile, target: 'decision' }, ['report']);
  // Rows 1–3 and 6 are right, row 4 (b > a, approve) and row 5 (a > b, reject) wrong.
  assert.equal(r.metrics.get('accuracy'), 4 / 6);
  const p = rows.map(([a, b]) => 1 / (1 + Math.exp(-2 * (b - a))));
  const y = rows.map((row) => row[2] === 'reject');
  // ROC-AUC by counting ordered (positive, negative) pairs.
  let pairs = 0;
  let wins = 0;
  y.forEach((pos, i) =>
    y.forEach((neg, j) => {
      if (pos && !neg) {
        pairs++;
        wins += (p[i] as number) > (p[j] as number) ? 1 : 0;
      }
    }),
  );
  assert.ok(Math.abs((r.metrics.get('roc_auc') ?? 0) - wins / pairs) < 1e-9);
  const logLoss = -y.reduce((s, pos, i) => s + Math.log(pos ? (p[i] as number) : 1 - (p[i] as number)), 0) / y.length;
  assert.ok(Math.abs((r.metrics.get('log_loss') ?? 0) - logLoss) < 1e-6, 'float32 inference');
});

test('cairn drift: text table, JSON, exit codes, clear errors', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd: dir, isTty: false };
  const wine = path.join(fixtures, 'data', 'wine.csv');
  const code = await main(['drift', '--reference', wine, '--current', wine, '--columns', 'alcohol,hue'], io);
  assert.equal(code, 0);
  assert.match(out.join(''), /alcohol\s+numeric\s+ks\s+1\.000\s+0\.05\s+ok/);
  assert.match(out.join(''), /0 of 2 columns drifted/);
  out.length = 0;
  const ref = write('r.csv', 'a,b\n' + Array.from({ length: 50 }, (_, i) => `${i},x`).join('\n'));
  const cur = write('c.csv', 'a,b\n' + Array.from({ length: 50 }, (_, i) => `${i + 100},y`).join('\n'));
  const jcode = await main(
    ['drift', '--reference', 'r.csv', '--current', 'c.csv', '--format', 'json', '--test', 'a=psi:0.5'],
    io,
  );
  assert.equal(jcode, 1, 'dataset drift is a finding');
  const json = JSON.parse(out.join('')) as {
    shareDrifted: number;
    features: Array<{ name: string; method: string; drifted: boolean }>;
  };
  assert.equal(json.shareDrifted, 1);
  assert.deepEqual(
    json.features.map((f) => [f.name, f.method, f.drifted]),
    [
      ['a', 'psi', true],
      ['b', 'chisquare', true],
    ],
  );
  assert.equal(await main(['drift', '--reference', ref], io), 2);
  assert.match(err.join(''), /--reference and --current are required/);
  err.length = 0;
  assert.equal(await main(['drift', '--reference', ref, '--current', write('rag.csv', 'a,b\n1,2,3\n')], io), 1);
  assert.match(err.join(''), /rag\.csv:2: row has 3 fields but the header has 2/);
  assert.equal(await main(['drift', '--reference', ref, '--current', cur, '--test', 'a=magic'], io), 2);
});
