/**
 * Top-k ranking metrics for recommenders, per user then averaged over the users that have at least one relevant
 * held-out item (docs/ml.md, "Ranking metrics"). `recommended` is a user's list, best first (only the first k count);
 * `relevant` maps the user's relevant items to their gain (1 for binary relevance).
 *
 * - precision@k = hits in the top k / k
 * - recall@k    = hits in the top k / number of relevant items
 * - F1@k        = 2 · precision@k · recall@k / (precision@k + recall@k) of the user (0 without a hit), averaged over
 *                 users like the others (so not the harmonic mean of the averaged precision and recall)
 * - hit rate@k  = 1 if the top k holds any relevant item, else 0
 * - AP@k        = (1 / min(k, |relevant|)) · Σ_{i≤k, item i relevant} precision@i; MAP@k is its mean
 * - NDCG@k      = DCG@k / IDCG@k, DCG@k = Σ_{i≤k} gain_i / log2(i + 1), IDCG@k the DCG of the ideal order
 *                 (sklearn's ndcg_score with linear gains, for a list without tied scores)
 * - coverage    = distinct items recommended to anyone / catalogue size
 */
export type ItemId = string | number;

export function precisionAtK(recommended: readonly ItemId[], relevant: ReadonlyMap<ItemId, number>, k: number): number {
  let hits = 0;
  for (const item of recommended.slice(0, k)) if ((relevant.get(item) ?? 0) > 0) hits++;
  return hits / k;
}

export function recallAtK(recommended: readonly ItemId[], relevant: ReadonlyMap<ItemId, number>, k: number): number {
  let total = 0;
  for (const g of relevant.values()) if (g > 0) total++;
  if (total === 0) return 0;
  let hits = 0;
  for (const item of recommended.slice(0, k)) if ((relevant.get(item) ?? 0) > 0) hits++;
  return hits / total;
}

export function f1AtK(recommended: readonly ItemId[], relevant: ReadonlyMap<ItemId, number>, k: number): number {
  const p = precisionAtK(recommended, relevant, k);
  const r = recallAtK(recommended, relevant, k);
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

export function hitAtK(recommended: readonly ItemId[], relevant: ReadonlyMap<ItemId, number>, k: number): number {
  return recommended.slice(0, k).some((item) => (relevant.get(item) ?? 0) > 0) ? 1 : 0;
}

export function averagePrecisionAtK(
  recommended: readonly ItemId[],
  relevant: ReadonlyMap<ItemId, number>,
  k: number,
): number {
  let total = 0;
  for (const g of relevant.values()) if (g > 0) total++;
  if (total === 0) return 0;
  let hits = 0;
  let sum = 0;
  const seen = new Set<ItemId>();
  recommended.slice(0, k).forEach((item, i) => {
    if ((relevant.get(item) ?? 0) > 0 && !seen.has(item)) {
      hits++;
      sum += hits / (i + 1);
    }
    seen.add(item);
  });
  return sum / Math.min(k, total);
}

export function ndcgAtK(recommended: readonly ItemId[], relevant: ReadonlyMap<ItemId, number>, k: number): number {
  let dcg = 0;
  recommended.slice(0, k).forEach((item, i) => {
    dcg += (relevant.get(item) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...relevant.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  let idcg = 0;
  ideal.forEach((g, i) => {
    idcg += g / Math.log2(i + 2);
  });
  return idcg === 0 ? 0 : dcg / idcg;
}

export function catalogueCoverage(lists: ReadonlyArray<readonly ItemId[]>, catalogueSize: number, k: number): number {
  if (catalogueSize === 0) return 0;
  const items = new Set<ItemId>();
  for (const l of lists) for (const item of l.slice(0, k)) items.add(item);
  return items.size / catalogueSize;
}

export interface RankingMetrics {
  'precision@k': number;
  'recall@k': number;
  'f1@k': number;
  'ndcg@k': number;
  'map@k': number;
  'hit_rate@k': number;
  coverage: number;
  /** Users averaged over (those with a relevant held-out item). */
  users: number;
}

/** Every ranking metric over users; `lists.get(u)` is u's recommendation list. */
export function rankingMetrics(
  lists: ReadonlyMap<ItemId, readonly ItemId[]>,
  relevant: ReadonlyMap<ItemId, ReadonlyMap<ItemId, number>>,
  k: number,
  catalogueSize: number,
): RankingMetrics {
  let p = 0;
  let r = 0;
  let n = 0;
  let f1 = 0;
  let ap = 0;
  let hit = 0;
  let users = 0;
  for (const [user, rel] of relevant) {
    if (![...rel.values()].some((g) => g > 0)) continue;
    const list = lists.get(user) ?? [];
    users++;
    p += precisionAtK(list, rel, k);
    r += recallAtK(list, rel, k);
    f1 += f1AtK(list, rel, k);
    n += ndcgAtK(list, rel, k);
    ap += averagePrecisionAtK(list, rel, k);
    hit += hitAtK(list, rel, k);
  }
  const avg = (x: number) => (users === 0 ? 0 : x / users);
  return {
    'precision@k': avg(p),
    'recall@k': avg(r),
    'f1@k': avg(f1),
    'ndcg@k': avg(n),
    'map@k': avg(ap),
    'hit_rate@k': avg(hit),
    coverage: catalogueCoverage([...lists.values()], catalogueSize, k),
    users,
  };
}
