import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ks2samp } from '../../../runtime/src/ml/drift/ks.js';
import { kstwoSf, smirnov } from '../../../runtime/src/ml/drift/kolmogorov.js';
import { chi2Sf, gammaP, gammaQ, lgamma } from '../../../runtime/src/ml/drift/gamma.js';
import { featureDrift, driftReport, DriftInputError } from '../../../runtime/src/ml/drift/report.js';
import { chiSquareHomogeneity } from '../../../runtime/src/ml/drift/stats.js';
import { readCsv, numericColumn, takeRows } from '../../../runtime/src/ml/data/index.js';
import type { Column } from '../../../runtime/src/ml/types.js';
import { assertClose, fixtures, loadGolden } from './golden.js';

interface NumericCase {
  name: string;
  reference: number[];
  current: number[];
  ks: { statistic: number; pValue: number; method: 'exact' | 'asymp' };
  wasserstein: { distance: number; normed: number; referenceStd: number };
  psi: number;
  jensenshannon: number;
  distinct: number;
  bins:
    | {
        kind: 'histogram';
        edges: number[];
        reference: number[];
        current: number[];
        currentBelow: number;
        currentAbove: number;
      }
    | { kind: 'categories'; categories: number[]; reference: number[]; current: number[] };
  chisquare?: { statistic: number; pValue: number; dof: number };
}
interface CategoricalCase {
  name: string;
  reference: string[];
  current: string[];
  chisquare: { statistic: number; pValue: number; dof: number };
  psi: number;
  jensenshannon: number;
}
interface DriftGolden {
  numeric: NumericCase[];
  categorical: CategoricalCase[];
  kstwo: Array<{ n: number; x: number; sf: number }>;
  smirnov: Array<{ n: number; x: number; sf: number }>;
  gamma: Array<{ a: number; x: number; q: number; p: number }>;
  lgamma: Array<{ x: number; lgamma: number }>;
  chi2: Array<{ x: number; k: number; sf: number }>;
  wine: { split: number; columns: NumericCase[] };
}

const golden = loadGolden<DriftGolden>('drift.json');

const col = (name: string, values: number[]): Column => numericColumn(name, Float64Array.from(values));
const textCol = (name: string, values: string[]): Column => ({ name, type: 'string', values });

function checkNumeric(c: NumericCase, f: ReturnType<typeof featureDrift>): void {
  const t = f.tests;
  assertClose(t.ks?.statistic, c.ks.statistic, `${c.name} ks statistic`);
  assertClose(t.ks?.pValue, c.ks.pValue, `${c.name} ks p-value`);
  assert.equal(t.ks?.method, c.ks.method, `${c.name} ks method`);
  assertClose(t.wasserstein?.distance, c.wasserstein.distance, `${c.name} wasserstein`);
  assertClose(t.wasserstein?.normed, c.wasserstein.normed, `${c.name} wasserstein normed`);
  assertClose(t.psi?.value, c.psi, `${c.name} psi`);
  assertClose(t.jensenshannon?.distance, c.jensenshannon, `${c.name} jensen-shannon`);
  assert.equal(f.distinct, c.distinct, `${c.name} distinct`);
  assert.equal(f.bins?.kind, c.bins.kind, `${c.name} bin kind`);
  if (f.bins?.kind === 'histogram' && c.bins.kind === 'histogram') {
    assert.equal(f.bins.edges.length, c.bins.edges.length, `${c.name} bin count`);
    const want = c.bins.edges;
    f.bins.edges.forEach((e, i) => assertClose(e, want[i] as number, `${c.name} edge ${i}`, 1e-12));
    assert.deepEqual(f.bins.reference, c.bins.reference, `${c.name} reference counts`);
    assert.deepEqual(f.bins.current, c.bins.current, `${c.name} current counts`);
    assert.equal(f.bins.currentBelow, c.bins.currentBelow);
    assert.equal(f.bins.currentAbove, c.bins.currentAbove);
  }
  if (c.chisquare) {
    assertClose(t.chisquare?.statistic, c.chisquare.statistic, `${c.name} chi-square statistic`);
    assertClose(t.chisquare?.pValue, c.chisquare.pValue, `${c.name} chi-square p-value`);
    assert.equal(t.chisquare?.dof, c.chisquare.dof);
  }
}

test('numeric drift statistics equal scipy (KS exact/asymptotic, ties; Wasserstein; PSI; Jensen–Shannon)', () => {
  for (const c of golden.numeric) checkNumeric(c, featureDrift('x', col('x', c.reference), col('x', c.current)));
});

test('KS covers both p-value methods and sizes on both sides of 10,000', () => {
  const methods = new Set(golden.numeric.map((c) => c.ks.method));
  assert.deepEqual([...methods].sort(), ['asymp', 'exact']);
  for (const c of golden.numeric.slice(0, 3)) assertClose(ks2samp(c.reference, c.current).pValue, c.ks.pValue, c.name);
});

test('categorical drift statistics equal scipy (chi2_contingency without correction, JS, PSI), unseen category included', () => {
  for (const c of golden.categorical) {
    const f = featureDrift('c', textCol('c', c.reference), textCol('c', c.current));
    assertClose(f.tests.chisquare?.statistic, c.chisquare.statistic, `${c.name} chi-square`);
    assertClose(f.tests.chisquare?.pValue, c.chisquare.pValue, `${c.name} chi-square p`);
    assert.equal(f.tests.chisquare?.dof, c.chisquare.dof);
    assertClose(f.tests.psi?.value, c.psi, `${c.name} psi`);
    assertClose(f.tests.jensenshannon?.distance, c.jensenshannon, `${c.name} js`);
  }
});

test('kstwo.sf equals scipy on every branch', () => {
  for (const k of golden.kstwo) assertClose(kstwoSf(k.x, k.n), k.sf, `kstwo.sf(${k.x}, ${k.n})`);
});

test('smirnov equals scipy.special.smirnov', () => {
  for (const k of golden.smirnov) assertClose(smirnov(k.n, k.x), k.sf, `smirnov(${k.n}, ${k.x})`);
});

test('incomplete gamma, log-gamma and chi2.sf equal scipy', () => {
  for (const g of golden.gamma) {
    assertClose(gammaQ(g.a, g.x), g.q, `Q(${g.a}, ${g.x})`);
    assertClose(gammaP(g.a, g.x), g.p, `P(${g.a}, ${g.x})`);
  }
  for (const g of golden.lgamma) assertClose(lgamma(g.x), g.lgamma, `lgamma(${g.x})`, 1e-13);
  for (const g of golden.chi2) assertClose(chi2Sf(g.x, g.k), g.sf, `chi2.sf(${g.x}, ${g.k})`);
});

test('real data: wine table, first half vs second half, read from CSV', async () => {
  const table = await readCsv(path.join(fixtures, 'data', 'wine.csv'));
  const split = golden.wine.split;
  const idx = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const ref = takeRows(table, idx(0, split));
  const cur = takeRows(table, idx(split, table.rowCount));
  const report = driftReport(ref, cur, { columns: golden.wine.columns.map((c) => c.name) });
  for (const c of golden.wine.columns) {
    const f = report.features.find((x) => x.name === c.name);
    assert.ok(f, c.name);
    checkNumeric(c, f);
    // 89 reference rows ≤ 1,000: KS decides for numeric columns with many values.
    assert.equal(f.method, c.distinct <= 5 ? 'chisquare' : 'ks');
    assert.equal(f.drifted, c.ks.pValue < 0.05, `${c.name} drifted`);
  }
  assert.equal(report.testedColumns, golden.wine.columns.length);
  assert.equal(report.shareDrifted, report.driftedColumns / report.testedColumns);
});

test('test choice follows Evidently: size, type and distinct values; overrides win', () => {
  const small = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
  const big = Array.from({ length: 1500 }, (_, i) => (i * 7919) % 1000);
  assert.equal(featureDrift('a', col('a', small), col('a', small)).method, 'ks');
  assert.equal(featureDrift('a', col('a', big), col('a', big)).method, 'wasserstein');
  assert.equal(
    featureDrift(
      'a',
      col(
        'a',
        small.map((v) => v % 4),
      ),
      col(
        'a',
        small.map((v) => v % 4),
      ),
    ).method,
    'chisquare',
  );
  assert.equal(
    featureDrift(
      'a',
      col(
        'a',
        big.map((v) => v % 4),
      ),
      col(
        'a',
        big.map((v) => v % 4),
      ),
    ).method,
    'jensenshannon',
  );
  const cats = small.map((v) => `c${v % 7}`);
  assert.equal(featureDrift('c', textCol('c', cats), textCol('c', cats)).method, 'chisquare');
  assert.equal(
    featureDrift('c', textCol('c', [...cats, ...cats, ...cats]), textCol('c', cats)).method,
    'jensenshannon',
  );
  const psiOverride = featureDrift(
    'a',
    col('a', small),
    col(
      'a',
      small.map((v) => v + 300),
    ),
    { test: 'psi', threshold: 0.2 },
  );
  assert.equal(psiOverride.method, 'psi');
  assert.equal(psiOverride.threshold, 0.2);
  assert.equal(psiOverride.score, psiOverride.tests.psi?.value);
  assert.equal(psiOverride.drifted, (psiOverride.tests.psi?.value ?? 0) >= 0.2);
  assert.throws(() => featureDrift('c', textCol('c', cats), textCol('c', cats), { test: 'ks' }), DriftInputError);
});

test('bad input: all-missing column, constant column, unseen category, type mismatch, unknown column', () => {
  const missing = featureDrift('m', col('m', [Number.NaN, Number.NaN]), col('m', [1, 2]));
  assert.equal(missing.method, null);
  assert.equal(missing.score, null);
  assert.equal(missing.drifted, false);
  assert.match(missing.skipped ?? '', /no values in the reference/);
  const constant = featureDrift('k', col('k', Array<number>(50).fill(3)), col('k', Array<number>(40).fill(3)));
  assert.equal(constant.method, 'chisquare');
  assert.equal(constant.score, 1);
  assert.equal(constant.drifted, false);
  assert.equal(constant.tests.wasserstein?.distance, 0);
  const unseen = featureDrift('c', textCol('c', ['a', 'b', 'a', 'b']), textCol('c', ['a', 'b', 'z', 'z']));
  assert.deepEqual(unseen.bins?.kind === 'categories' ? unseen.bins.categories : [], ['a', 'b', 'z']);
  assert.ok(Number.isFinite(unseen.tests.psi?.value) && Number.isFinite(unseen.tests.jensenshannon?.distance));
  assert.throws(
    () => featureDrift('x', col('x', [1, 2]), textCol('x', ['1', 'abc'])),
    /numeric in the reference but text in the current data \(e\.g\. 'abc'\)/,
  );
  const t = { rowCount: 2, columns: [col('a', [1, 2])] };
  assert.throws(() => driftReport(t, t, { columns: ['b'] }), /column 'b' is not in the reference and current data/);
  assert.deepEqual(chiSquareHomogeneity([5], [7]), { statistic: 0, pValue: 1, dof: 0 });
  assert.throws(() => driftReport(t, { rowCount: 0, columns: [col('a', [])] }), /the current data has no rows/);
});

test('a numeric column with few values lists its categories in ascending order (the statistics do not change)', () => {
  const ref = col('rating', [4, 4, 4, 5, 5, 3, 2, 2, 4, 5]);
  const cur = col('rating', [2.5, 3, 3, 4, 1, 1, 2, 5, 3, 3]);
  const f = featureDrift('rating', ref, cur);
  assert.deepEqual(f.bins?.kind === 'categories' ? f.bins.categories : [], [1, 2, 2.5, 3, 4, 5]);
  assert.deepEqual(f.bins?.kind === 'categories' ? f.bins.reference : [], [0, 2, 0, 1, 4, 3]);
  assert.deepEqual(f.bins?.kind === 'categories' ? f.bins.current : [], [2, 1, 1, 4, 1, 1]);
});
