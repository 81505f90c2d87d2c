import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootstrapMeanDifference, percentileSorted, twoProportionZTest } from '../../../runtime/src/ab/stats.js';
import { assertClose, loadGolden } from '../ml/golden.js';

// The A/B significance tests against scipy: golden values from scripts/golden/make_ab_golden.py.

interface Golden {
  ztest: Array<{
    successA: number;
    nA: number;
    successB: number;
    nB: number;
    z: number;
    pValue: number;
    difference: number;
    ci: [number, number];
  }>;
  percentile: { x: number[]; cases: Array<{ q: number; value: number }> };
  bootstrap: Array<{
    paired: boolean;
    a: number[];
    b: number[];
    difference: number;
    ci: [number, number];
    standardError: number;
  }>;
}

const golden = loadGolden<Golden>('ab.json');

describe('A/B statistics vs scipy', () => {
  test('two-proportion z-test: z, two-sided p-value and the Wald interval', () => {
    for (const c of golden.ztest) {
      const t = twoProportionZTest(c.successA, c.nA, c.successB, c.nB);
      const what = `${c.successA}/${c.nA} vs ${c.successB}/${c.nB}`;
      assertClose(t.z, c.z, `${what} z`, 1e-12);
      assertClose(t.pValue, c.pValue, `${what} p`, 1e-9);
      assertClose(t.difference, c.difference, `${what} difference`, 1e-12);
      assertClose(t.ci[0], c.ci[0], `${what} ci low`, 1e-12);
      assertClose(t.ci[1], c.ci[1], `${what} ci high`, 1e-12);
    }
  });

  test("percentiles as numpy's default (linear) computes them", () => {
    const sorted = Float64Array.from(golden.percentile.x).sort();
    for (const c of golden.percentile.cases) assertClose(percentileSorted(sorted, c.q), c.value, `q=${c.q}`, 1e-12);
  });

  test('bootstrap CI of the difference in mean squared error matches scipy.stats.bootstrap within Monte Carlo error', () => {
    for (const c of golden.bootstrap) {
      const t = bootstrapMeanDifference(c.a, c.b, { paired: c.paired, resamples: 2000, seed: 42 });
      assertClose(t.difference, c.difference, `${c.paired ? 'paired' : 'unpaired'} difference`, 1e-12);
      const width = c.ci[1] - c.ci[0];
      // Two independent 2,000-resample bootstraps: their percentile endpoints differ by a few % of the width.
      for (const k of [0, 1] as const) {
        const diff = Math.abs(t.ci[k] - c.ci[k]);
        assert.ok(
          diff < 0.1 * width,
          `${c.paired ? 'paired' : 'unpaired'} ci[${k}]: ${t.ci[k]} vs scipy ${c.ci[k]} (off by ${(diff / width).toFixed(3)} of the width)`,
        );
      }
      // The CI and the p-value agree: 0 outside the interval ⇔ p < 0.05.
      assert.equal(t.ci[0] > 0 || t.ci[1] < 0, t.pValue < 0.05, `ci ${t.ci.join('..')} vs p ${t.pValue}`);
    }
  });

  test('the bootstrap is reproducible by its seed, and differs with another', () => {
    const c = golden.bootstrap[0];
    assert.ok(c);
    const one = bootstrapMeanDifference(c.a, c.b, { paired: true, seed: 5 });
    assert.deepEqual(bootstrapMeanDifference(c.a, c.b, { paired: true, seed: 5 }), one);
    assert.notDeepEqual(bootstrapMeanDifference(c.a, c.b, { paired: true, seed: 6 }).ci, one.ci);
  });
});
