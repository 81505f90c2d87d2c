import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultDriftTest, driftReportSchema, driftTests, titledDriftReportSchema } from '@cairn/protocol';
import { chartBins, computedTests } from '../../../webviews/src/drift/bins.js';

const meta = { id: 'files-1', title: 'c vs r', createdAt: 1, windows: [] };

// The shape `cairn drift --format json` printed for two small CSV files (numeric a, categorical b, empty c).
const cli = {
  referenceRows: 5,
  currentRows: 5,
  features: [
    {
      name: 'a',
      type: 'numeric',
      method: 'ks',
      threshold: 0.05,
      score: 0.0794,
      drifted: false,
      referenceCount: 5,
      currentCount: 5,
      referenceMissing: 0,
      currentMissing: 0,
      distinct: 9,
      tests: {
        ks: { statistic: 0.8, pValue: 0.0794, method: 'exact' },
        wasserstein: { distance: 4, normed: 2.83, referenceStd: 1.41 },
        psi: { value: 12.2 },
        jensenshannon: { distance: 0.74 },
      },
      bins: {
        kind: 'histogram',
        edges: [1, 3, 5],
        reference: [2, 3],
        current: [0, 1],
        currentBelow: 0,
        currentAbove: 4,
      },
    },
    {
      name: 'b',
      type: 'categorical',
      method: 'chisquare',
      threshold: 0.05,
      score: 0.0197,
      drifted: true,
      referenceCount: 5,
      currentCount: 5,
      referenceMissing: 0,
      currentMissing: 0,
      distinct: 2,
      tests: { chisquare: { statistic: 5.4, pValue: 0.0197, dof: 1 } },
      bins: { kind: 'categories', categories: ['x', 1], reference: [3, 2], current: [0, 5] },
    },
    {
      name: 'c',
      type: 'numeric',
      method: null,
      threshold: null,
      score: null,
      drifted: false,
      skipped: 'no current values',
      referenceCount: 5,
      currentCount: 0,
      referenceMissing: 0,
      currentMissing: 5,
      distinct: 3,
      tests: {},
    },
  ],
  shareDrifted: 0.5,
  driftedColumns: 1,
  testedColumns: 2,
  shareThreshold: 0.5,
  datasetDrifted: true,
  onlyInReference: [],
  onlyInCurrent: [],
};

test('the CLI drift report is the drift view report: one shape, the view draws its bins and tests', () => {
  const r = titledDriftReportSchema.safeParse({ ...cli, ...meta });
  assert.ok(r.success, r.success ? '' : r.error.message);
  const skipped = r.data.features.filter((f) => f.method === null).map((f) => `${f.name} (${f.skipped ?? ''})`);
  assert.deepEqual(skipped, ['c (no current values)']);
  const [a, b] = r.data.features;
  assert.ok(a?.bins && b?.bins);
  assert.deepEqual(
    chartBins(a.bins),
    { kind: 'numeric', edges: [1, 3, 5], reference: [2, 3], current: [0, 5] },
    'values above the last edge count into the last bin',
  );
  assert.deepEqual(
    computedTests(a).map((t) => [t.test, t.pValue, t.statistic]),
    [
      ['ks', 0.0794, 0.8],
      ['wasserstein', null, 2.83],
      ['jensenshannon', null, 0.74],
      ['psi', null, 12.2],
    ],
  );
  assert.equal(b.method, 'chisquare');
  assert.deepEqual(chartBins(b.bins), {
    kind: 'categorical',
    categories: ['x', '1'],
    reference: [3, 2],
    current: [0, 5],
  });
  assert.deepEqual([r.data.shareDrifted, r.data.datasetDrifted, r.data.windows], [0.5, true, []]);
});

test('a malformed report is refused with the field that is wrong', () => {
  const r = driftReportSchema.safeParse({ ...cli, features: [{ ...cli.features[0], score: 'high' }] });
  assert.equal(r.success, false);
  assert.match(r.success ? '' : r.error.issues.map((i) => i.path.join('.')).join(' '), /features\.0\.score/);
  const nan = driftReportSchema.safeParse({ ...cli, shareDrifted: Number.NaN });
  assert.equal(nan.success, false, 'NaN is never passed off as a number');
});

test("Evidently's choice rule: KS / chi-square up to 1,000 reference values, normed Wasserstein / JS above", () => {
  assert.deepEqual(
    [
      defaultDriftTest('numeric', 1000, 6),
      defaultDriftTest('numeric', 1000, 5),
      defaultDriftTest('categorical', 1000, 30),
    ],
    ['ks', 'chisquare', 'chisquare'],
  );
  assert.deepEqual(
    [
      defaultDriftTest('numeric', 1001, 6),
      defaultDriftTest('numeric', 1001, 5),
      defaultDriftTest('categorical', 1001, 30),
    ],
    ['wasserstein', 'jensenshannon', 'jensenshannon'],
  );
  assert.ok(driftTests.includes('psi'), 'PSI is available by name');
});
