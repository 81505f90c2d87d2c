import type { Label } from './classification.js';

/**
 * Group fairness gaps, as fairlearn.metrics defines them (method='between_groups'):
 * - demographic parity difference = max over groups of the selection rate (share predicted positive) − min;
 * - equal opportunity difference  = max over groups of the true-positive rate (recall) − min.
 * Groups with no true positives have no true-positive rate and are left out of the second gap.
 */
export interface GroupRates {
  group: string;
  count: number;
  selectionRate: number;
  /** null when the group has no actual positive. */
  truePositiveRate: number | null;
}

export interface FairnessGaps {
  groups: GroupRates[];
  demographicParityDifference: number;
  /** null when fewer than two groups have actual positives. */
  equalOpportunityDifference: number | null;
}

export function fairnessGaps(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  groups: readonly string[],
  positive: Label,
): FairnessGaps {
  const by = new Map<string, { n: number; sel: number; pos: number; tp: number }>();
  for (let i = 0; i < yTrue.length; i++) {
    const g = groups[i] as string;
    const s = by.get(g) ?? { n: 0, sel: 0, pos: 0, tp: 0 };
    s.n++;
    const predPos = yPred[i] === positive;
    const truePos = yTrue[i] === positive;
    if (predPos) s.sel++;
    if (truePos) s.pos++;
    if (predPos && truePos) s.tp++;
    by.set(g, s);
  }
  const rates: GroupRates[] = [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, s]) => ({
      group,
      count: s.n,
      selectionRate: s.sel / s.n,
      truePositiveRate: s.pos === 0 ? null : s.tp / s.pos,
    }));
  const sel = rates.map((r) => r.selectionRate);
  const tpr = rates.map((r) => r.truePositiveRate).filter((v): v is number => v !== null);
  return {
    groups: rates,
    demographicParityDifference: sel.length ? Math.max(...sel) - Math.min(...sel) : 0,
    equalOpportunityDifference: tpr.length >= 2 ? Math.max(...tpr) - Math.min(...tpr) : null,
  };
}
