import type { MeanEstimate, RateEstimate, SampleSize, SequentialTest, SrmCheck } from '@cairn/protocol';
import { srmAlarmPValue } from '@cairn/protocol';
import { chi2Sf } from '../ml/drift/index.js';
import { normalCdf, normalQuantile, normalSf, studentTQuantile, studentTSf } from './distributions.js';
import { zCritical } from './stats.js';

/**
 * The statistics of an A/B test on business metrics (docs/deploy.md, "A/B on clicks, conversions and revenue"):
 * Wilson intervals, Welch's t-test, sample sizes, the mSPRT and the sample-ratio-mismatch check. The two-proportion
 * z-test and the bootstrap are in stats.ts. Each is checked against scipy in test/runtime/ab/businessStats.test.ts.
 */

/** Wilson score interval of a rate (statsmodels' proportion_confint(method='wilson')). */
export function wilsonInterval(successes: number, trials: number, alpha = 0.05): [number, number] {
  if (trials < 1) return [0, 1];
  const z = zCritical(alpha);
  const q = z * z;
  const p = successes / trials;
  const denom = 1 + q / trials;
  const centre = (p + q / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + q / (4 * trials * trials))) / denom;
  return [centre - half, centre + half];
}

export function rateEstimate(successes: number, trials: number, alpha = 0.05): RateEstimate {
  return { successes, trials, rate: trials > 0 ? successes / trials : 0, ci: wilsonInterval(successes, trials, alpha) };
}

/** Count, mean and sample variance (ddof 1) of a sample: what Welch's test needs, accumulated in one pass. */
export interface Moments {
  n: number;
  mean: number;
  variance: number;
}

export function moments(x: ArrayLike<number>): Moments {
  // Welford: stable for revenue columns that are mostly 0 with a few large values.
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] ?? 0;
    const d = v - mean;
    mean += d / (i + 1);
    m2 += d * (v - mean);
  }
  return { n: x.length, mean, variance: x.length > 1 ? m2 / (x.length - 1) : 0 };
}

/** A mean with its Student-t interval (n − 1 degrees of freedom). */
export function meanEstimate(m: Moments, alpha = 0.05): MeanEstimate {
  const sd = Math.sqrt(m.variance);
  if (m.n < 2) return { n: m.n, mean: m.mean, sd, ci: [m.mean, m.mean] };
  const half = studentTQuantile(1 - alpha / 2, m.n - 1) * (sd / Math.sqrt(m.n));
  return { n: m.n, mean: m.mean, sd, ci: [m.mean - half, m.mean + half] };
}

export interface WelchTest {
  /** mean(b) − mean(a), with its interval at 1 − alpha on Welch's degrees of freedom. */
  difference: number;
  ci: [number, number];
  t: number;
  df: number;
  pValue: number;
  /** The variance of the difference's estimate, sA²/nA + sB²/nB (the mSPRT's V). */
  variance: number;
}

/** Welch's unequal-variance t-test of b against a (scipy.stats.ttest_ind(b, a, equal_var=False)). */
export function welchTTest(a: Moments, b: Moments, alpha = 0.05): WelchTest {
  if (a.n < 2 || b.n < 2) throw new RangeError(`Welch's test needs 2 rows on each side (got ${a.n} and ${b.n})`);
  const vA = a.variance / a.n;
  const vB = b.variance / b.n;
  const variance = vA + vB;
  const difference = b.mean - a.mean;
  if (variance === 0) return { difference, ci: [difference, difference], t: 0, df: a.n + b.n - 2, pValue: 1, variance };
  const se = Math.sqrt(variance);
  const df = (variance * variance) / ((vA * vA) / (a.n - 1) + (vB * vB) / (b.n - 1));
  const t = difference / se;
  const half = studentTQuantile(1 - alpha / 2, df) * se;
  return {
    difference,
    ci: [difference - half, difference + half],
    t,
    df,
    pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)),
    variance,
  };
}

/** Power of a two-sided z-test on a standardised effect with n per arm (statsmodels' NormalIndPower, ratio 1). */
export function normalPower(effectSize: number, perArm: number, alpha: number): number {
  const crit = normalQuantile(1 - alpha / 2);
  const shift = Math.abs(effectSize) * Math.sqrt(perArm / 2);
  return normalSf(crit - shift) + normalCdf(-crit - shift);
}

/** The (fractional) n per arm at which normalPower reaches `power`: bisection, as NormalIndPower.solve_power. */
export function perArmForPower(effectSize: number, alpha: number, power: number): number {
  if (!(effectSize !== 0 && Number.isFinite(effectSize))) return Number.NaN;
  let lo = 0;
  let hi = 2;
  while (normalPower(effectSize, hi, alpha) < power) {
    lo = hi;
    hi *= 2;
    if (hi > 1e15) return Number.NaN;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (normalPower(effectSize, mid, alpha) < power) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface SampleSizeOptions {
  /** The minimum detectable effect: absolute (0.01 = one point of CTR) or, with `relative`, a share of the baseline. */
  mde: number;
  relative?: boolean;
  alpha?: number;
  power?: number;
}

function sampleSize(effectSize: number, o: SampleSizeOptions, alpha: number, power: number): SampleSize {
  const n = perArmForPower(effectSize, alpha, power);
  return {
    mde: o.mde,
    relative: o.relative ?? false,
    alpha,
    power,
    effectSize,
    perArm: Number.isFinite(n) ? Math.ceil(n) : null,
  };
}

/** Absolute effect of an MDE on a metric whose current value is `baseline`. */
export function absoluteMde(baseline: number, o: SampleSizeOptions): number {
  return o.relative === true ? baseline * o.mde : o.mde;
}

/** Rows per arm to detect a rate moving from `baseline` by the MDE: Cohen's h = 2·asin√p₂ − 2·asin√p₁. */
export function sampleSizeProportions(baseline: number, o: SampleSizeOptions): SampleSize {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const p2 = Math.min(1, Math.max(0, baseline + absoluteMde(baseline, o)));
  const h = 2 * Math.asin(Math.sqrt(p2)) - 2 * Math.asin(Math.sqrt(baseline));
  return sampleSize(h, o, alpha, power);
}

/** Rows per arm to detect a mean (e.g. revenue per impression) moving by the MDE, for a metric with this sd. */
export function sampleSizeMean(baseline: number, sd: number, o: SampleSizeOptions): SampleSize {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  return sampleSize(sd > 0 ? absoluteMde(baseline, o) / sd : Number.NaN, o, alpha, power);
}

/** One look of the mSPRT: the mixture likelihood ratio Λ and the confidence-sequence interval at this look. */
export interface MsprtLook {
  lambda: number;
  ci: [number, number];
}

/**
 * The normal-mixture mSPRT of H0: θ = 0 at one look (Johari, Pekelis, Walsh 2017, eq. for a normal mixture
 * N(0, τ²)): with θ̂ the estimated difference and V its variance, Λ = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²))); the
 * confidence sequence is θ̂ ± √(V(V+τ²)/τ² · (log((V+τ²)/V) − 2 log α)).
 */
export function msprtLook(difference: number, variance: number, tau2: number, alpha: number): MsprtLook {
  if (!(variance > 0)) return { lambda: 1, ci: [-Infinity, Infinity] };
  const s = variance + tau2;
  const logLambda = 0.5 * Math.log(variance / s) + (tau2 * difference * difference) / (2 * variance * s);
  const half = Math.sqrt(((variance * s) / tau2) * (Math.log(s / variance) - 2 * Math.log(alpha)));
  return { lambda: Math.exp(logLambda), ci: [difference - half, difference + half] };
}

/**
 * The mSPRT over a sequence of looks (cumulative estimates in time order): the always-valid p-value is the running
 * minimum of min(1, 1/Λ), the interval the intersection of every look's. `tau2` defaults (in business.ts) to the
 * squared absolute MDE: the mixture puts its weight on effects of the size one wants to find.
 */
export function sequentialTest(
  looks: ReadonlyArray<{ difference: number; variance: number }>,
  tau2: number,
  alpha: number,
): SequentialTest {
  if (!(tau2 > 0)) throw new RangeError(`the mSPRT's mixing variance tau² must be > 0 (got ${tau2})`);
  let pValue = 1;
  let lo = -Infinity;
  let hi = Infinity;
  let counted = 0;
  for (const l of looks) {
    const look = msprtLook(l.difference, l.variance, tau2, alpha);
    if (look.lambda === 1 && !(l.variance > 0)) continue;
    counted++;
    pValue = Math.min(pValue, 1 / look.lambda);
    lo = Math.max(lo, look.ci[0]);
    hi = Math.min(hi, look.ci[1]);
  }
  return { tau2, looks: counted, pValue: Math.min(1, pValue), ci: [lo, hi] };
}

/** Sample-ratio mismatch: chi-square goodness of fit of the counts per arm against the configured shares. */
export function srmCheck(observed: readonly number[], shares: readonly number[]): SrmCheck {
  if (observed.length !== shares.length || observed.length < 2) {
    throw new RangeError(
      `the SRM check needs one count per arm and arm share (got ${observed.length} and ${shares.length})`,
    );
  }
  const total = observed.reduce((s, v) => s + v, 0);
  const shareSum = shares.reduce((s, v) => s + v, 0);
  const expectedShares = shares.map((w) => w / shareSum);
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = total * (expectedShares[i] ?? 0);
    const o = observed[i] ?? 0;
    if (e > 0) chiSquare += ((o - e) * (o - e)) / e;
  }
  const pValue = total > 0 ? chi2Sf(chiSquare, observed.length - 1) : 1;
  return { expectedShares, observed: [...observed], chiSquare, pValue, mismatch: pValue < srmAlarmPValue };
}
