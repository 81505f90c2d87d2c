import { gammaQ } from '../ml/drift/index.js';
import { seededRandom } from '../util/prng.js';
import { normalQuantile } from './distributions.js';

/**
 * Significance tests of A/B results (docs/cli.md, "A/B tests"); cross-checked against scipy in
 * test/runtime/deploy/abStats.test.ts with golden values from scripts/golden/make_ab_golden.py.
 */

/** The 97.5% quantile of the standard normal (scipy.stats.norm.ppf(0.975)). */
export const Z975 = 1.959963984540054;

/** Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|) = erfc(|z|/√2) = Q(1/2, z²/2). */
export function normalTwoSided(z: number): number {
  if (!Number.isFinite(z)) return Number.isNaN(z) ? Number.NaN : 0;
  return Math.min(1, gammaQ(0.5, (z * z) / 2));
}

export interface ProportionTest {
  /** Success rates of a (champion) and b (challenger). */
  pA: number;
  pB: number;
  /** pB − pA with its 95% Wald interval (unpooled). */
  difference: number;
  ci: [number, number];
  /** Pooled two-proportion z statistic and its two-sided p-value. */
  z: number;
  pValue: number;
}

/** The two-sided critical value z_{1−alpha/2}. */
export function zCritical(alpha: number): number {
  return alpha === 0.05 ? Z975 : normalQuantile(1 - alpha / 2);
}

/**
 * The two-proportion z-test (pooled variance, two-sided), as statsmodels' proportions_ztest computes it; the interval
 * of the difference is the unpooled Wald interval at 1 − alpha.
 */
export function twoProportionZTest(
  successA: number,
  nA: number,
  successB: number,
  nB: number,
  alpha = 0.05,
): ProportionTest {
  if (nA < 1 || nB < 1) throw new RangeError(`the z-test needs rows on both sides (got ${nA} and ${nB})`);
  const pA = successA / nA;
  const pB = successB / nB;
  const pooled = (successA + successB) / (nA + nB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nA + 1 / nB));
  const difference = pB - pA;
  // Both all-right or all-wrong: no variance, no evidence of a difference.
  const z = se === 0 ? 0 : difference / se;
  const wald = Math.sqrt((pA * (1 - pA)) / nA + (pB * (1 - pB)) / nB);
  const zc = zCritical(alpha);
  const ci: [number, number] = [difference - zc * wald, difference + zc * wald];
  return { pA, pB, difference, ci, z, pValue: se === 0 ? 1 : normalTwoSided(z) };
}

/** numpy's default ('linear') percentile of sorted values, q in [0, 100]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = ((n - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  return a + (h - lo) * (b - a);
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] ?? 0;
  return s / x.length;
}

export interface BootstrapTest {
  meanA: number;
  meanB: number;
  /** mean(b) − mean(a) on the data, with the 2.5 / 97.5 percentiles of its bootstrap distribution. */
  difference: number;
  ci: [number, number];
  /** Two-sided: twice the smaller share of resampled differences on either side of 0 (with the +1 correction). */
  pValue: number;
  resamples: number;
  paired: boolean;
  seed: number;
}

/**
 * Percentile bootstrap of the difference of two means (here of per-row losses, e.g. squared errors). Paired: the same
 * rows are drawn for both (replay: both models scored the same holdout rows); unpaired: each side is resampled on its
 * own (online arms saw different requests). Seeded, so a result can be reproduced.
 */
export function bootstrapMeanDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  o: { paired: boolean; resamples?: number; seed?: number },
): BootstrapTest {
  const resamples = o.resamples ?? 2000;
  const seed = o.seed ?? 42;
  if (a.length < 1 || b.length < 1)
    throw new RangeError(`the bootstrap needs rows on both sides (got ${a.length} and ${b.length})`);
  if (o.paired && a.length !== b.length)
    throw new RangeError(`a paired bootstrap needs the same rows on both sides (got ${a.length} and ${b.length})`);
  const random = seededRandom(seed);
  const diffs = new Float64Array(resamples);
  const nA = a.length;
  const nB = b.length;
  for (let r = 0; r < resamples; r++) {
    let sA = 0;
    let sB = 0;
    if (o.paired) {
      for (let i = 0; i < nA; i++) {
        const k = Math.floor(random() * nA);
        sA += a[k] ?? 0;
        sB += b[k] ?? 0;
      }
    } else {
      for (let i = 0; i < nA; i++) sA += a[Math.floor(random() * nA)] ?? 0;
      for (let i = 0; i < nB; i++) sB += b[Math.floor(random() * nB)] ?? 0;
    }
    diffs[r] = sB / nB - sA / nA;
  }
  diffs.sort();
  let below = 0;
  let above = 0;
  for (const d of diffs) {
    if (d <= 0) below++;
    if (d >= 0) above++;
  }
  const pValue = Math.min(1, (2 * (Math.min(below, above) + 1)) / (resamples + 1));
  const meanA = mean(a);
  const meanB = mean(b);
  return {
    meanA,
    meanB,
    difference: meanB - meanA,
    ci: [percentileSorted(diffs, 2.5), percentileSorted(diffs, 97.5)],
    pValue,
    resamples,
    paired: o.paired,
    seed,
  };
}
