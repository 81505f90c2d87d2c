import type { PopularityModel } from '../models/artifact.js';
import type { IndexedInteractions } from './interactions.js';

/**
 * The popularity baseline: items ranked by how many interactions they have; the predicted rating of an item is its
 * mean rating shrunk toward the global mean by `damping` pseudo-ratings (so an item rated once does not predict its
 * one rating exactly).
 */
export function trainPopularity(
  ix: IndexedInteractions,
  columns: PopularityModel['columns'],
  damping = 5,
): PopularityModel {
  const n = ix.data.nItems;
  const counts = new Float64Array(n);
  const sums = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < ix.data.ratings.length; r++) {
    const i = ix.data.items[r] ?? 0;
    const v = ix.data.ratings[r] ?? 0;
    counts[i] = (counts[i] ?? 0) + 1;
    sums[i] = (sums[i] ?? 0) + v;
    total += v;
  }
  const globalMean = total / ix.data.ratings.length;
  // Most interactions first; ties keep first-seen order (sort is stable), so the ranking is deterministic.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
  return {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'popularity',
    columns,
    items: order.map((i) => ix.items[i] ?? i),
    counts: order.map((i) => counts[i] ?? 0),
    means: order.map((i) => ((sums[i] ?? 0) + damping * globalMean) / ((counts[i] ?? 0) + damping)),
    globalMean,
  };
}
