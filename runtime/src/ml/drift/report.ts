import {
  defaultDriftTest,
  defaultDriftThresholds,
  driftDecision,
  driftScoreOf,
  isNumericOnlyTest,
  type DriftOverride,
  type DriftReport,
  type DriftTest,
  type FeatureDrift,
} from '@cairn/protocol';
import { CairnError } from '../../util/errors.js';
import type { Column, Table } from '../types.js';
import { ks2sampSorted } from './ks.js';
import {
  chiSquareHomogeneity,
  distinctSorted,
  distinctUnionSorted,
  fillZeroes,
  histogramSorted,
  jensenShannon,
  psi,
  std,
  sturgesEdges,
  wassersteinSorted,
} from './stats.js';

/**
 * Per-feature drift between a reference and a current table. The vocabulary (tests, thresholds, the default choice)
 * and the report's shape are protocol/src/drift.ts; see docs/ml.md, "Drift", for every definition.
 */

export interface DriftOptions {
  /** Columns to check (default: every column both tables have). */
  columns?: string[];
  /** The dataset drifts when at least this share of the checked columns drift (default 0.5). */
  share?: number;
  /** Per-column test and threshold overrides. */
  tests?: Record<string, DriftOverride>;
}

/** Bad drift input the user can fix (unknown column, a test that does not fit the column's type). */
export class DriftInputError extends CairnError {
  override name = 'DriftInputError';
  constructor(message: string) {
    super('invalid', message);
  }
}

interface NumericSample {
  sorted: Float64Array;
  missing: number;
}

function numericSample(col: Column): NumericSample {
  if (col.type === 'string') throw new Error('not numeric');
  const { values, missing } = col;
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if ((missing && missing[i] === 1) || Number.isNaN(v) || !Number.isFinite(v)) continue;
    out[n++] = v;
  }
  const sorted = out.subarray(0, n).sort();
  return { sorted, missing: values.length - n };
}

interface CategoricalSample {
  counts: Map<string | number, number>;
  total: number;
  missing: number;
}

function categoricalSample(col: Column): CategoricalSample {
  const counts = new Map<string | number, number>();
  let missing = 0;
  if (col.type === 'string') {
    for (const v of col.values) {
      if (v === null) missing++;
      else counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return { counts, total: col.values.length - missing, missing };
  }
  const { values, missing: mask } = col;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if ((mask && mask[i] === 1) || !Number.isFinite(v)) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return { counts, total: values.length - missing, missing };
}

function sortedCounts(s: Float64Array): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < s.length;) {
    const v = s[i] as number;
    let j = i;
    while (j < s.length && s[j] === v) j++;
    m.set(v, j - i);
    i = j;
  }
  return m;
}

/**
 * Category order: by reference count (desc), then value, categories only the current has coming last; numbers with
 * few distinct values (`byValue`) in ascending order instead, so a chart's axis reads 1, 1.5, 2, … The statistics
 * are sums over categories and do not depend on the order.
 */
function categoryTable(
  ref: Map<string | number, number>,
  cur: Map<string | number, number>,
  byValue = false,
): { keys: Array<string | number>; r: number[]; c: number[] } {
  const cmp = (a: string | number, b: string | number) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  const refKeys = [...ref.keys()].sort((a, b) => (ref.get(b) ?? 0) - (ref.get(a) ?? 0) || cmp(a, b));
  const newKeys = [...cur.keys()]
    .filter((k) => !ref.has(k))
    .sort((a, b) => (cur.get(b) ?? 0) - (cur.get(a) ?? 0) || cmp(a, b));
  const keys = byValue ? [...refKeys, ...newKeys].sort(cmp) : [...refKeys, ...newKeys];
  return { keys, r: keys.map((k) => ref.get(k) ?? 0), c: keys.map((k) => cur.get(k) ?? 0) };
}

function sharesOf(counts: number[], total: number): number[] {
  return fillZeroes(counts.map((x) => x / total));
}

function categoricalTests(
  f: FeatureDrift,
  ref: Map<string | number, number>,
  cur: Map<string | number, number>,
  refTotal: number,
  curTotal: number,
): void {
  const { keys, r, c } = categoryTable(ref, cur);
  f.bins = { kind: 'categories', categories: keys, reference: r, current: c };
  f.tests.chisquare = chiSquareHomogeneity(r, c);
  const rs = sharesOf(r, refTotal);
  const cs = sharesOf(c, curTotal);
  f.tests.psi = { value: psi(rs, cs) };
  f.tests.jensenshannon = { distance: jensenShannon(rs, cs) };
}

function checkNumeric(f: FeatureDrift, ref: NumericSample, cur: NumericSample): void {
  const a = ref.sorted;
  const b = cur.sorted;
  f.distinct = distinctUnionSorted(a, b, 21);
  f.tests.ks = ks2sampSorted(a, b);
  const distance = wassersteinSorted(a, b);
  const refStd = std(a);
  // Evidently floors the norm at 0.001 so a constant reference does not divide by zero.
  f.tests.wasserstein = { distance, normed: distance / Math.max(refStd, 0.001), referenceStd: refStd };
  if (distinctSorted(a, 21) > 20) {
    const edges = sturgesEdges(a);
    const hr = histogramSorted(a, edges);
    const hc = histogramSorted(b, edges);
    f.bins = {
      kind: 'histogram',
      edges,
      reference: hr.counts,
      current: hc.counts,
      currentBelow: hc.below,
      currentAbove: hc.above,
    };
    // Overflow bins join the shares only when the current sample reaches them (empty on both sides they would add
    // zero-fill noise).
    const rc = [...hr.counts];
    const cc = [...hc.counts];
    if (hc.below > 0) {
      rc.unshift(0);
      cc.unshift(hc.below);
    }
    if (hc.above > 0) {
      rc.push(0);
      cc.push(hc.above);
    }
    const rs = sharesOf(rc, a.length);
    const cs = sharesOf(cc, b.length);
    f.tests.psi = { value: psi(rs, cs) };
    f.tests.jensenshannon = { distance: jensenShannon(rs, cs) };
  } else {
    // Few distinct values: shares per value, and the chi-square test, as for a categorical column.
    const { keys, r, c } = categoryTable(sortedCounts(a), sortedCounts(b), true);
    f.bins = { kind: 'categories', categories: keys, reference: r, current: c };
    f.tests.chisquare = chiSquareHomogeneity(r, c);
    const rs = sharesOf(r, a.length);
    const cs = sharesOf(c, b.length);
    f.tests.psi = { value: psi(rs, cs) };
    f.tests.jensenshannon = { distance: jensenShannon(rs, cs) };
  }
}

function isNumeric(col: Column): boolean {
  return col.type === 'int' || col.type === 'float' || col.type === 'timestamp';
}

export function featureDrift(name: string, refCol: Column, curCol: Column, override?: DriftOverride): FeatureDrift {
  const refNum = isNumeric(refCol);
  const curNum = isNumeric(curCol);
  if (refNum !== curNum && curCol.type !== 'string' && refCol.type !== 'string') {
    // int/float vs bool: compare as categories.
  } else if (refNum !== curNum) {
    const example = (refNum ? curCol : refCol).type === 'string' ? firstText(refNum ? curCol : refCol) : undefined;
    throw new DriftInputError(
      `column '${name}' is ${refNum ? 'numeric' : 'text'} in the reference but ${curNum ? 'numeric' : 'text'} in the current data` +
        `${example !== undefined ? ` (e.g. '${example}')` : ''}; fix the values or leave the column out with --columns`,
    );
  }
  const numeric = refNum && curNum;
  const f: FeatureDrift = {
    name,
    type: numeric ? 'numeric' : 'categorical',
    method: null,
    threshold: null,
    score: null,
    drifted: false,
    referenceCount: 0,
    currentCount: 0,
    referenceMissing: 0,
    currentMissing: 0,
    distinct: 0,
    tests: {},
  };
  if (override && !numeric && isNumericOnlyTest(override.test)) {
    throw new DriftInputError(
      `column '${name}' is categorical: the '${override.test}' test needs numbers; use chisquare, jensenshannon or psi`,
    );
  }
  if (numeric) {
    const ref = numericSample(refCol);
    const cur = numericSample(curCol);
    Object.assign(f, {
      referenceCount: ref.sorted.length,
      currentCount: cur.sorted.length,
      referenceMissing: ref.missing,
      currentMissing: cur.missing,
    });
    if (ref.sorted.length === 0 || cur.sorted.length === 0) return skip(f);
    checkNumeric(f, ref, cur);
    if (override?.test === 'chisquare' && !f.tests.chisquare) {
      const { r, c } = categoryTable(sortedCounts(ref.sorted), sortedCounts(cur.sorted));
      f.tests.chisquare = chiSquareHomogeneity(r, c);
    }
  } else {
    const ref = categoricalSample(refCol);
    const cur = categoricalSample(curCol);
    Object.assign(f, {
      referenceCount: ref.total,
      currentCount: cur.total,
      referenceMissing: ref.missing,
      currentMissing: cur.missing,
    });
    if (ref.total === 0 || cur.total === 0) return skip(f);
    const union = new Set([...ref.counts.keys(), ...cur.counts.keys()]);
    f.distinct = Math.min(union.size, 21);
    categoricalTests(f, ref.counts, cur.counts, ref.total, cur.total);
  }
  const method: DriftTest = override?.test ?? defaultDriftTest(f.type, f.referenceCount, f.distinct);
  const threshold = override?.threshold ?? defaultDriftThresholds[method];
  const score = driftScoreOf(f.tests, method);
  f.method = method;
  f.threshold = threshold;
  f.score = score !== undefined && Number.isFinite(score) ? score : null;
  f.drifted = f.score !== null && driftDecision(method, f.score, threshold);
  return f;
}

function skip(f: FeatureDrift): FeatureDrift {
  const side = f.referenceCount === 0 ? (f.currentCount === 0 ? 'both tables' : 'the reference') : 'the current data';
  f.skipped = `no values in ${side} (every cell is missing)`;
  return f;
}

function firstText(col: Column): string | undefined {
  if (col.type !== 'string') return undefined;
  for (const v of col.values) if (v !== null && !Number.isFinite(Number(v))) return v;
  return undefined;
}

export function driftReport(reference: Table, current: Table, options: DriftOptions = {}): DriftReport {
  // An empty table would make every column "skipped" and the verdict a silent "no drift".
  for (const [what, t] of [
    ['reference', reference],
    ['current', current],
  ] as const) {
    if (t.rowCount === 0) throw new DriftInputError(`the ${what} data has no rows; drift needs rows on both sides`);
  }
  const refCols = new Map(reference.columns.map((c) => [c.name, c]));
  const curCols = new Map(current.columns.map((c) => [c.name, c]));
  const shared = reference.columns.map((c) => c.name).filter((n) => curCols.has(n));
  const columns = options.columns ?? shared;
  for (const name of columns) {
    const where = [refCols.has(name) ? '' : 'reference', curCols.has(name) ? '' : 'current']
      .filter(Boolean)
      .join(' and ');
    if (where)
      throw new DriftInputError(
        `column '${name}' is not in the ${where} data (columns there: ${[...(refCols.has(name) ? curCols : refCols).keys()].join(', ')})`,
      );
  }
  for (const name of Object.keys(options.tests ?? {})) {
    if (!columns.includes(name))
      throw new DriftInputError(
        `a test override names column '${name}', which is not checked (columns: ${columns.join(', ')})`,
      );
  }
  const features = columns.map((name) =>
    featureDrift(name, refCols.get(name) as Column, curCols.get(name) as Column, options.tests?.[name]),
  );
  const tested = features.filter((f) => f.method !== null);
  const drifted = tested.filter((f) => f.drifted).length;
  const shareThreshold = options.share ?? 0.5;
  const shareDrifted = tested.length === 0 ? 0 : drifted / tested.length;
  return {
    referenceRows: reference.rowCount,
    currentRows: current.rowCount,
    features,
    shareDrifted,
    driftedColumns: drifted,
    testedColumns: tested.length,
    shareThreshold,
    datasetDrifted: tested.length > 0 && shareDrifted >= shareThreshold,
    onlyInReference: reference.columns.map((c) => c.name).filter((n) => !curCols.has(n)),
    onlyInCurrent: current.columns.map((c) => c.name).filter((n) => !refCols.has(n)),
  };
}
