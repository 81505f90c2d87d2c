import type { ContentModel, HybridModel } from '../models/artifact.js';
import { blendScores, contentScorer, hybridRanker, topK, type HybridComponents } from '../models/recommender.js';
import { ndcgAtK } from '../metrics/ranking.js';
import { trainContent, type ContentFeatureOptions, type ItemFeatures } from './content.js';
import { indexRows, type RatingRows } from './interactions.js';
import { rng, shuffled, throwIfAborted, TrainingError, yieldToEventLoop, type TrainHooks } from './loop.js';
import { mfArtifact, trainMf, type MfTrainOptions } from './mf.js';

/**
 * The hybrid recommender (docs/ml.md, "Content-based and hybrid recommenders"), in two phases:
 *
 * 1. Blend. Each user's newest `blendFraction` of ratings (by `times`, else a seeded random share; users with at least
 *    5 ratings) is held out; the MF and the content model are trained on the rest. On the held-out pairs whose user and item the MF knows, the rating
 *    blend intercept + a·MF + b·content is fitted by least squares. For the held-out users the MF knows, the ranking
 *    blend w_mf·z(MF score) + w_content·z(cosine) + w_pop·z(log(1 + ratings)) (z: standardized over the catalogue,
 *    per user) is chosen on a grid of the simplex, step 0.1, as the weights with the highest mean NDCG@k against the
 *    held-out ratings ≥ relevance, the user's earlier items excluded (as evaluate.ranking does); each user's lists are
 *    searched among the 10·k best items of each component.
 * 2. Refit. Both components are trained again on every rating (the MF for the epochs phase 1 kept), and the weights
 *    of phase 1 carried over.
 */
export interface HybridTrainOptions extends Omit<MfTrainOptions, 'implicit'> {
  columns: ContentModel['columns'];
  features: ContentFeatureOptions;
  blendFraction: number;
  /** Half-life of a rating's weight in the popularity component, as a share of the training time span (0: counts). */
  halfLife: number;
  k: number;
  relevance: number;
  backend: string;
}

const key = (id: string | number) => String(id);
const GRID_STEPS = 10;
/** Candidates per component, in multiples of k, among which the ranking blend's lists are searched. */
const SHORTLIST = 10;

/** Least squares y ≈ c0 + c1·x1 + c2·x2 (normal equations, a tiny ridge against collinearity). */
export function fitLinear2(
  x1: ArrayLike<number>,
  x2: ArrayLike<number>,
  y: ArrayLike<number>,
): [number, number, number] | undefined {
  const a = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const b = [0, 0, 0];
  for (let r = 0; r < y.length; r++) {
    const row = [1, x1[r] ?? 0, x2[r] ?? 0];
    for (let i = 0; i < 3; i++) {
      b[i] = (b[i] ?? 0) + (row[i] ?? 0) * (y[r] ?? 0);
      for (let j = 0; j < 3; j++) (a[i] as number[])[j] = ((a[i] as number[])[j] ?? 0) + (row[i] ?? 0) * (row[j] ?? 0);
    }
  }
  if (y.length < 3) return undefined;
  for (let i = 1; i < 3; i++) (a[i] as number[])[i] = ((a[i] as number[])[i] ?? 0) + 1e-9 * y.length;
  // Gaussian elimination with partial pivoting on [a | b].
  const m = a.map((row, i) => [...row, b[i] ?? 0]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r]?.[c] ?? 0) > Math.abs(m[p]?.[c] ?? 0)) p = r;
    if (Math.abs(m[p]?.[c] ?? 0) < 1e-12) return undefined;
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = (m[r]?.[c] ?? 0) / (m[c]?.[c] ?? 1);
      for (let j = c; j < 4; j++) (m[r] as number[])[j] = (m[r]?.[j] ?? 0) - f * (m[c]?.[j] ?? 0);
    }
  }
  return [0, 1, 2].map((i) => (m[i]?.[3] ?? 0) / (m[i]?.[i] ?? 1)) as [number, number, number];
}

/** The weights (w_mf, w_content, w_pop) on the simplex grid, mf-heavy first (ties keep the first). */
export function blendGrid(steps = GRID_STEPS): Array<HybridModel['rankBlend']> {
  const out: Array<HybridModel['rankBlend']> = [];
  for (let a = steps; a >= 0; a--)
    for (let b = steps - a; b >= 0; b--)
      out.push({ mf: a / steps, content: b / steps, popularity: (steps - a - b) / steps });
  return out;
}

/** Users with fewer ratings keep them all for fitting (too few to hold any out). */
const MIN_HOLD_OUT_RATINGS = 5;

/**
 * Each user's newest `fraction` of ratings (by `times`, else a seeded shuffle), for users with at least
 * MIN_HOLD_OUT_RATINGS: every held-out user is known to the fitted components, as the users the blend serves are.
 */
export function holdOutNewest(
  rows: RatingRows,
  times: ArrayLike<number> | undefined,
  fraction: number,
  seed: number,
): { fitRows: Uint32Array; heldRows: Uint32Array } {
  const n = rows.ratings.length;
  const order = times
    ? Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (times[a] ?? 0) - (times[b] ?? 0) || a - b)
    : shuffled(n, rng(seed));
  const byUser = new Map<string, number[]>();
  for (const r of order) {
    const u = key(rows.users[r] ?? '');
    const l = byUser.get(u);
    if (l) l.push(r);
    else byUser.set(u, [r]);
  }
  const held = new Uint8Array(n);
  for (const l of byUser.values()) {
    if (l.length < MIN_HOLD_OUT_RATINGS) continue;
    const h = Math.max(1, Math.round(l.length * fraction));
    for (const r of l.slice(l.length - h)) held[r] = 1;
  }
  const fitRows: number[] = [];
  const heldRows: number[] = [];
  for (const r of order) (held[r] ? heldRows : fitRows).push(r);
  if (heldRows.length === 0)
    throw new TrainingError(
      `no user has ${MIN_HOLD_OUT_RATINGS} ratings: too few to hold out the newest share and choose the blend weights`,
    );
  return { fitRows: Uint32Array.from(fitRows), heldRows: Uint32Array.from(heldRows) };
}

export async function trainHybrid(
  rows: RatingRows,
  times: ArrayLike<number> | undefined,
  features: ReadonlyMap<string, ItemFeatures>,
  o: HybridTrainOptions,
  hooks: TrainHooks = {},
): Promise<{ model: HybridModel; metrics: Record<string, number>; bestEpoch: number }> {
  const n = rows.ratings.length;
  const { fitRows, heldRows } = holdOutNewest(rows, times, o.blendFraction, o.seed);
  const fit = indexRows(rows, fitRows);
  const mfOpts: MfTrainOptions = { ...o, implicit: false };
  const artifact = (ix: typeof fit, r: Awaited<ReturnType<typeof trainMf>>) =>
    mfArtifact(ix, r, { columns: o.columns, factors: o.factors, implicit: false, backend: o.backend, seed: o.seed });
  hooks.log?.(
    `blend phase: components trained on ${fitRows.length} ratings, weights chosen on each user's newest ${o.blendFraction} (${heldRows.length} ratings)`,
  );
  const mfFit = await trainMf(fit.data, mfOpts, hooks);
  const fitContent = trainContent(fit, features, o.columns, o.features);
  const probe: HybridModel = {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'hybrid',
    columns: o.columns,
    mf: artifact(fit, mfFit),
    content: fitContent,
    popularity: recencyPopularity(fitContent.items, rows, times, fitRows, o.halfLife),
    ratingBlend: { intercept: 0, mf: 1, content: 0 },
    rankBlend: { mf: 1, content: 0, popularity: 0 },
    seed: o.seed,
    backend: o.backend,
    metrics: {},
  };
  const ratingBlend = chooseRatingBlend(probe, rows, heldRows);
  await yieldToEventLoop();
  throwIfAborted(hooks.signal);
  const rankBlend = chooseRankBlend(probe, rows, fitRows, heldRows, o);
  hooks.log?.(
    `rating blend ${ratingBlend.blend.intercept.toFixed(3)} + ${ratingBlend.blend.mf.toFixed(3)}·mf + ${ratingBlend.blend.content.toFixed(3)}·content (rmse ${ratingBlend.rmse.toFixed(4)} on ${ratingBlend.rows} held-out pairs)`,
  );
  hooks.log?.(
    `ranking blend mf ${rankBlend.blend.mf}, content ${rankBlend.blend.content}, popularity ${rankBlend.blend.popularity} (ndcg@${o.k} ${rankBlend.ndcg.toFixed(4)} over ${rankBlend.users} held-out users)`,
  );

  hooks.log?.(`refit on all ${n} ratings (${mfFit.bestEpoch} epochs)`);
  const all = indexRows(rows);
  // The refit's epochs are not streamed: the learning curve is the blend phase's (with its validation loss).
  const quiet: TrainHooks = { log: (line) => hooks.log?.(line), ...(hooks.signal ? { signal: hooks.signal } : {}) };
  const mfAll = await trainMf(
    all.data,
    { ...mfOpts, epochs: mfFit.bestEpoch, validFraction: 0, earlyStopping: undefined },
    quiet,
  );
  const metrics: Record<string, number> = finite({
    ...Object.fromEntries(Object.entries(mfFit.metrics).filter(([k]) => k.startsWith('val_'))),
    ...(mfAll.metrics.loss !== undefined ? { loss: mfAll.metrics.loss } : {}),
    ...(mfAll.metrics.rmse !== undefined ? { rmse: mfAll.metrics.rmse } : {}),
    blend_rmse: ratingBlend.rmse,
    [`blend_ndcg@${o.k}`]: rankBlend.ndcg,
    weight_mf: rankBlend.blend.mf,
    weight_content: rankBlend.blend.content,
    weight_popularity: rankBlend.blend.popularity,
  });
  const content = trainContent(all, features, o.columns, o.features);
  const model: HybridModel = {
    ...probe,
    mf: artifact(all, mfAll),
    content,
    popularity: recencyPopularity(content.items, rows, times, undefined, o.halfLife),
    ratingBlend: ratingBlend.blend,
    rankBlend: rankBlend.blend,
    metrics,
  };
  return { model, metrics, bestEpoch: mfFit.bestEpoch };
}

/** A metric with nothing to measure (no held-out pair the MF knows, say) is left out, never NaN. */
const finite = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

/** Per catalogue item: Σ 0.5^((t_max − t) / (halfLife · (t_max − t_min))) over its ratings among `subset` (all by default). */
export function recencyPopularity(
  catalogue: ReadonlyArray<string | number>,
  rows: RatingRows,
  times: ArrayLike<number> | undefined,
  subset: ArrayLike<number> | undefined,
  halfLife: number,
): number[] {
  const at = new Map(catalogue.map((id, i) => [key(id), i]));
  const out = new Array<number>(catalogue.length).fill(0);
  const n = subset ? subset.length : rows.ratings.length;
  let lo = Infinity;
  let hi = -Infinity;
  if (times && halfLife > 0) {
    for (let k = 0; k < n; k++) {
      const t = times[subset ? (subset[k] ?? 0) : k] ?? 0;
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  const span = hi > lo ? halfLife * (hi - lo) : 0;
  for (let k = 0; k < n; k++) {
    const r = subset ? (subset[k] ?? 0) : k;
    const i = at.get(key(rows.items[r] ?? ''));
    if (i === undefined) continue;
    out[i] = (out[i] ?? 0) + (span > 0 ? 0.5 ** ((hi - (times?.[r] ?? hi)) / span) : 1);
  }
  return out;
}

function chooseRatingBlend(
  m: HybridModel,
  rows: RatingRows,
  held: ArrayLike<number>,
): { blend: HybridModel['ratingBlend']; rmse: number; rows: number } {
  const mfUsers = new Map(m.mf.users.map((id, i) => [key(id), i]));
  const mfItems = new Map(m.mf.items.map((id, i) => [key(id), i]));
  const c = contentScorer(m.content);
  const x1: number[] = [];
  const x2: number[] = [];
  const y: number[] = [];
  const k = m.mf.factors;
  for (let h = 0; h < held.length; h++) {
    const r = held[h] ?? 0;
    const u = mfUsers.get(key(rows.users[r] ?? ''));
    const i = mfItems.get(key(rows.items[r] ?? ''));
    if (u === undefined || i === undefined) continue;
    let s = m.mf.globalMean + (m.mf.userBias[u] ?? 0) + (m.mf.itemBias[i] ?? 0);
    for (let j = 0; j < k; j++) s += (m.mf.userFactors[u * k + j] ?? 0) * (m.mf.itemFactors[i * k + j] ?? 0);
    const clip = m.mf.clip;
    x1.push(clip ? Math.min(clip.max, Math.max(clip.min, s)) : s);
    x2.push(c.rating(c.users.get(key(rows.users[r] ?? '')), c.items.get(key(rows.items[r] ?? ''))));
    y.push(rows.ratings[r] ?? 0);
  }
  const coef = fitLinear2(x1, x2, y);
  const blend = coef ? { intercept: coef[0], mf: coef[1], content: coef[2] } : { intercept: 0, mf: 1, content: 0 };
  let se = 0;
  const lo = m.content.clip.min;
  const hi = m.content.clip.max;
  for (let r = 0; r < y.length; r++)
    se +=
      ((y[r] ?? 0) -
        Math.min(hi, Math.max(lo, blend.intercept + blend.mf * (x1[r] ?? 0) + blend.content * (x2[r] ?? 0)))) **
      2;
  return { blend, rmse: y.length ? Math.sqrt(se / y.length) : NaN, rows: y.length };
}

function chooseRankBlend(
  m: HybridModel,
  rows: RatingRows,
  fitRows: ArrayLike<number>,
  held: ArrayLike<number>,
  o: HybridTrainOptions,
): { blend: HybridModel['rankBlend']; ndcg: number; users: number } {
  const mfUsers = new Map(m.mf.users.map((id, i) => [key(id), i]));
  const contentUsers = new Map(m.content.users.map((id, i) => [key(id), i]));
  const relevant = new Map<string, Map<string, number>>();
  for (let h = 0; h < held.length; h++) {
    const r = held[h] ?? 0;
    const u = key(rows.users[r] ?? '');
    if (!mfUsers.has(u) || (rows.ratings[r] ?? 0) < o.relevance) continue;
    const rel = relevant.get(u) ?? new Map<string, number>();
    rel.set(key(rows.items[r] ?? ''), 1);
    relevant.set(u, rel);
  }
  const seen = new Map<string, Set<string>>();
  for (let f = 0; f < fitRows.length; f++) {
    const r = fitRows[f] ?? 0;
    const u = key(rows.users[r] ?? '');
    if (!relevant.has(u)) continue;
    const s = seen.get(u) ?? new Set<string>();
    s.add(key(rows.items[r] ?? ''));
    seen.set(u, s);
  }
  const grid = blendGrid();
  const totals = new Float64Array(grid.length);
  const ranker = hybridRanker(m);
  const ids = m.content.items.map(key);
  for (const [u, rel] of relevant) {
    const comps = ranker({ mf: mfUsers.get(u) ?? 0, content: contentUsers.get(u) });
    const skip = seen.get(u);
    const unseen = (i: number) => skip?.has(ids[i] ?? '') ?? false;
    // Candidates: the SHORTLIST·k best unseen items of each component. A blend's top k lies among them unless an item
    // is middling on every component at once; the search is then over a few hundred items instead of the catalogue.
    const shortlist = [
      ...new Set([comps.mf, comps.content, comps.popularity].flatMap((c) => topK(c, SHORTLIST * o.k, unseen))),
    ];
    const cand: HybridComponents = {
      mf: Float64Array.from(shortlist, (i) => comps.mf[i] ?? 0),
      content: Float64Array.from(shortlist, (i) => comps.content[i] ?? 0),
      popularity: Float64Array.from(shortlist, (i) => comps.popularity[i] ?? 0),
    };
    const scores = new Float64Array(shortlist.length);
    grid.forEach((w, g) => {
      const list = topK(blendScores(cand, w, scores), o.k, () => false).map((j) => ids[shortlist[j] ?? 0] ?? '');
      totals[g] = (totals[g] ?? 0) + ndcgAtK(list, rel, o.k);
    });
  }
  if (relevant.size === 0) return { blend: { mf: 1, content: 0, popularity: 0 }, ndcg: NaN, users: 0 };
  let best = 0;
  for (let g = 1; g < grid.length; g++) if ((totals[g] ?? 0) > (totals[best] ?? 0)) best = g;
  return {
    blend: grid[best] as HybridModel['rankBlend'],
    ndcg: (totals[best] ?? 0) / relevant.size,
    users: relevant.size,
  };
}
