import type { ChiSquareResult } from '@cairn/protocol';
import { chi2Sf } from './gamma.js';

export type { ChiSquareResult };

/**
 * Distances and tests over two samples, each matching scipy / Evidently (definitions in docs/ml.md, "Drift").
 * Numeric inputs are ascending-sorted Float64Arrays without missing values: sorting once serves KS, Wasserstein,
 * binning and the distinct-value count.
 */

/** Neumaier-compensated sum of a sequence, so million-term sums stay within a few ulps of numpy's pairwise sum. */
export class Sum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

/** scipy.stats.wasserstein_distance(u, v): ∫ |U(x) − V(x)| dx between the two ECDFs. */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  if (nu === 0 || nv === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  const sum = new Sum();
  let prev = Math.min(u[0] as number, v[0] as number);
  while (i < nu || j < nv) {
    const ui = i < nu ? (u[i] as number) : Infinity;
    const vj = j < nv ? (v[j] as number) : Infinity;
    const x = ui <= vj ? ui : vj;
    // The ECDF gap holds on [prev, x): counts of values ≤ prev.
    if (x > prev) sum.add(Math.abs(i / nu - j / nv) * (x - prev));
    while (i < nu && (u[i] as number) <= x) i++;
    while (j < nv && (v[j] as number) <= x) j++;
    prev = x;
  }
  return sum.value;
}

/** Population standard deviation (numpy's np.std, ddof=0). */
export function std(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const s = new Sum();
  for (let i = 0; i < n; i++) s.add(values[i] as number);
  const mean = s.value / n;
  const q = new Sum();
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    q.add(d * d);
  }
  return Math.sqrt(q.value / n);
}

/** Distinct values of a sorted array, counting no further than `cap` (enough to pick a test). */
export function distinctSorted(values: Float64Array, cap = Infinity): number {
  if (values.length === 0) return 0;
  let count = 1;
  for (let i = 1; i < values.length && count < cap; i++) if (values[i] !== values[i - 1]) count++;
  return count;
}

/** Distinct values of the union of two sorted arrays, up to `cap`. */
export function distinctUnionSorted(a: Float64Array, b: Float64Array, cap = Infinity): number {
  let i = 0;
  let j = 0;
  let count = 0;
  while ((i < a.length || j < b.length) && count < cap) {
    const ai = i < a.length ? (a[i] as number) : Infinity;
    const bj = j < b.length ? (b[j] as number) : Infinity;
    const x = ai <= bj ? ai : bj;
    count++;
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
  }
  return count;
}

/**
 * Sturges bin edges over the reference's range, as numpy.histogram_bin_edges(reference, bins='sturges'):
 * width = range / (log2 n + 1), count = ceil(range / width), edges[i] = min + i·step with the last edge = max.
 */
export function sturgesEdges(sortedRef: Float64Array): number[] {
  const n = sortedRef.length;
  let lo = sortedRef[0] as number;
  let hi = sortedRef[n - 1] as number;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // numpy takes the width from the data's own range, the count from the (possibly widened) outer edges.
  const width = ((sortedRef[n - 1] as number) - (sortedRef[0] as number)) / (Math.log2(n) + 1);
  const bins = width > 0 ? Math.ceil((hi - lo) / width) : 1;
  const step = (hi - lo) / bins;
  const edges: number[] = [];
  for (let i = 0; i < bins; i++) edges.push(i * step + lo);
  edges.push(hi);
  return edges;
}

/**
 * Counts of a sorted sample in the bins [e0,e1), [e1,e2), …, [e_{k−1}, e_k] (numpy.histogram), plus the values
 * below e0 and above e_k (the current sample can leave the reference's range).
 */
export function histogramSorted(
  sorted: Float64Array,
  edges: readonly number[],
): { counts: number[]; below: number; above: number } {
  const k = edges.length - 1;
  const counts = new Array<number>(k).fill(0);
  const n = sorted.length;
  let i = 0;
  const first = edges[0] as number;
  const last = edges[k] as number;
  while (i < n && (sorted[i] as number) < first) i++;
  const below = i;
  for (let b = 0; b < k; b++) {
    const hi = edges[b + 1] as number;
    const start = i;
    if (b === k - 1) while (i < n && (sorted[i] as number) <= last) i++;
    else while (i < n && (sorted[i] as number) < hi) i++;
    counts[b] = i - start;
  }
  return { counts, below, above: n - i };
}

/**
 * Evidently's zero fill (calculations/stattests/utils.py get_binned_data): empty bins get the share
 * min(nonzero share)/10⁶ when that minimum is ≤ 0.0001, else 0.0001, so PSI and JS stay finite.
 */
export function fillZeroes(percents: number[]): number[] {
  let min = Infinity;
  for (const p of percents) if (p !== 0 && p < min) min = p;
  const fill = min <= 0.0001 ? min / 1e6 : 0.0001;
  return percents.map((p) => (p === 0 ? fill : p));
}

/** Population stability index Σ (r − c) ln(r / c) over zero-filled shares (Evidently's psi). */
export function psi(ref: readonly number[], cur: readonly number[]): number {
  const s = new Sum();
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const c = cur[i] as number;
    s.add((r - c) * Math.log(r / c));
  }
  return s.value;
}

function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/** scipy.spatial.distance.jensenshannon(p, q) with the natural logarithm: sqrt((KL(p‖m) + KL(q‖m)) / 2). */
export function jensenShannon(p0: readonly number[], q0: readonly number[]): number {
  let sp = 0;
  let sq = 0;
  for (const v of p0) sp += v;
  for (const v of q0) sq += v;
  const left = new Sum();
  const right = new Sum();
  for (let i = 0; i < p0.length; i++) {
    const p = (p0[i] as number) / sp;
    const q = (q0[i] as number) / sq;
    const m = (p + q) / 2;
    left.add(relEntr(p, m));
    right.add(relEntr(q, m));
  }
  return Math.sqrt((left.value + right.value) / 2);
}

/**
 * Chi-square test of homogeneity on the 2×k table [reference counts; current counts], as
 * scipy.stats.chi2_contingency(table, correction=False): expected = row·column/total, Pearson's statistic,
 * k−1 degrees of freedom. Categories empty in both samples must be left out by the caller. One category: 0, p = 1.
 */
export function chiSquareHomogeneity(ref: readonly number[], cur: readonly number[]): ChiSquareResult {
  const k = ref.length;
  let r0 = 0;
  let r1 = 0;
  for (let i = 0; i < k; i++) {
    r0 += ref[i] as number;
    r1 += cur[i] as number;
  }
  const total = r0 + r1;
  const dof = k - 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  const s = new Sum();
  for (let i = 0; i < k; i++) {
    const col = (ref[i] as number) + (cur[i] as number);
    const e0 = (r0 * col) / total;
    const e1 = (r1 * col) / total;
    s.add(((ref[i] as number) - e0) ** 2 / e0);
    s.add(((cur[i] as number) - e1) ** 2 / e1);
  }
  const statistic = s.value;
  return { statistic, pValue: chi2Sf(statistic, dof), dof };
}
