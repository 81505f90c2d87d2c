import type { RecommenderPredictor } from '../types.js';
import type { ContentModel, HybridModel, MfModel, PopularityModel } from './artifact.js';

/** Recommenders from model.json: scores in plain JS (a dot product per pair) — no backend needed to serve them. */

const key = (id: string | number) => String(id);

function indexOf(ids: Array<string | number>): Map<string, number> {
  return new Map(ids.map((id, i) => [key(id), i]));
}

/** Keeps the k best (score, index) pairs, best first. */
export function topK(scores: ArrayLike<number>, k: number, skip: (i: number) => boolean): number[] {
  const best: Array<{ s: number; i: number }> = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] ?? -Infinity;
    if (best.length === k && s <= (best[k - 1]?.s ?? -Infinity)) continue;
    if (skip(i)) continue;
    let at = best.length;
    while (at > 0 && (best[at - 1]?.s ?? -Infinity) < s) at--;
    best.splice(at, 0, { s, i });
    if (best.length > k) best.pop();
  }
  return best.map((b) => b.i);
}

/** A user's `exclude`d items as keys. */
function excluded(
  exclude: Map<string | number, Set<string | number>> | undefined,
  user: string | number,
): Set<string> | undefined {
  const seen = exclude?.get(user) ?? exclude?.get(key(user));
  return seen ? new Set([...seen].map(key)) : undefined;
}

/** MF scoring by index: the raw score μ + b_u + b_i + p_u·q_i (missing parts left out) and its finished value. */
function mfScorer(m: MfModel) {
  const users = indexOf(m.users);
  const items = indexOf(m.items);
  const k = m.factors;
  const clip = (v: number) => (m.clip ? Math.min(m.clip.max, Math.max(m.clip.min, v)) : v);
  const raw = (u: number | undefined, i: number | undefined): number => {
    let s = m.globalMean;
    if (u !== undefined) s += m.userBias[u] ?? 0;
    if (i !== undefined) s += m.itemBias[i] ?? 0;
    if (u !== undefined && i !== undefined)
      for (let j = 0; j < k; j++) s += (m.userFactors[u * k + j] ?? 0) * (m.itemFactors[i * k + j] ?? 0);
    return s;
  };
  // Implicit models score a preference logit; the ranking is all that matters there.
  const finish = (v: number) => (m.implicit ? 1 / (1 + Math.exp(-v)) : clip(v));
  return { users, items, raw, finish };
}

export function mfPredictor(m: MfModel): RecommenderPredictor {
  const { users, items, raw, finish } = mfScorer(m);
  return {
    kind: 'recommender',
    score(us, is) {
      const out = new Float64Array(us.length);
      for (let r = 0; r < us.length; r++)
        out[r] = finish(raw(users.get(key(us[r] ?? '')), items.get(key(is[r] ?? ''))));
      return Promise.resolve(out);
    },
    recommend(us, n, exclude) {
      const all = new Float64Array(m.items.length);
      return Promise.resolve(
        us.map((user) => {
          const u = users.get(key(user));
          for (let i = 0; i < all.length; i++) all[i] = raw(u, i);
          const seen = exclude?.get(user) ?? exclude?.get(key(user));
          const seenKeys = seen ? new Set([...seen].map(key)) : undefined;
          return topK(all, n, (i) => seenKeys?.has(key(m.items[i] ?? '')) ?? false).map((i) => m.items[i] ?? i);
        }),
      );
    },
    catalogue: () => m.items,
  };
}

export function popularityPredictor(m: PopularityModel): RecommenderPredictor {
  const items = indexOf(m.items);
  return {
    kind: 'recommender',
    score(_us, is) {
      const out = new Float64Array(is.length);
      for (let r = 0; r < is.length; r++) {
        const i = items.get(key(is[r] ?? ''));
        out[r] = i === undefined ? m.globalMean : (m.means[i] ?? m.globalMean);
      }
      return Promise.resolve(out);
    },
    recommend(us, n, exclude) {
      return Promise.resolve(
        us.map((user) => {
          const seen = exclude?.get(user) ?? exclude?.get(key(user));
          const seenKeys = seen ? new Set([...seen].map(key)) : undefined;
          const out: Array<string | number> = [];
          // Items are stored most popular first.
          for (const id of m.items) {
            if (out.length >= n) break;
            if (!seenKeys?.has(key(id))) out.push(id);
          }
          return out;
        }),
      );
    },
    catalogue: () => m.items,
  };
}

/** Content scoring by index (runtime/src/ml/train/content.ts defines the model). */
export function contentScorer(m: ContentModel) {
  const users = indexOf(m.users);
  const items = indexOf(m.items);
  const width = m.vocabulary.length;
  // Dense user profiles, built on first use: scoring many rows of one user then costs one dot per row.
  const cache = new Map<number, Float64Array>();
  const dense = (u: number): Float64Array => {
    const hit = cache.get(u);
    if (hit) return hit;
    const p = new Float64Array(width);
    const s = m.userProfiles[u];
    if (s) for (let j = 0; j < s.terms.length; j++) p[s.terms[j] ?? 0] = s.weights[j] ?? 0;
    cache.set(u, p);
    return p;
  };
  const dot = (p: Float64Array, i: number): number => {
    const s = m.itemProfiles[i];
    let d = 0;
    if (s) for (let j = 0; j < s.terms.length; j++) d += (p[s.terms[j] ?? 0] ?? 0) * (s.weights[j] ?? 0);
    return d;
  };
  /** cos(u, i) for every catalogue item. */
  const cosines = (u: number): Float64Array => {
    const p = dense(u);
    const out = new Float64Array(m.items.length);
    for (let i = 0; i < out.length; i++) out[i] = dot(p, i);
    return out;
  };
  /** μ + b_u + b_i + scale · cos, clipped; an unknown user or item contributes nothing of its own. */
  const rating = (u: number | undefined, i: number | undefined): number => {
    let s = m.globalMean;
    if (u !== undefined) s += m.userBias[u] ?? 0;
    if (i !== undefined) s += m.itemBias[i] ?? 0;
    if (u !== undefined && i !== undefined) s += m.scale * dot(dense(u), i);
    return Math.min(m.clip.max, Math.max(m.clip.min, s));
  };
  /** Catalogue indices by training ratings, most first (ties: catalogue order): the new-user list. */
  const popular = Array.from({ length: m.items.length }, (_, i) => i).sort(
    (a, b) => (m.itemCounts[b] ?? 0) - (m.itemCounts[a] ?? 0),
  );
  return { users, items, cosines, rating, popular };
}

/** The first n catalogue indices of `order` not in `seen`. */
function firstUnseen(
  order: readonly number[],
  ids: Array<string | number>,
  n: number,
  seen: Set<string> | undefined,
): Array<string | number> {
  const out: Array<string | number> = [];
  for (const i of order) {
    if (out.length >= n) break;
    const id = ids[i] ?? i;
    if (!seen?.has(key(id))) out.push(id);
  }
  return out;
}

export function contentPredictor(m: ContentModel): RecommenderPredictor {
  const c = contentScorer(m);
  return {
    kind: 'recommender',
    score(us, is) {
      const out = new Float64Array(us.length);
      for (let r = 0; r < us.length; r++)
        out[r] = c.rating(c.users.get(key(us[r] ?? '')), c.items.get(key(is[r] ?? '')));
      return Promise.resolve(out);
    },
    recommend(us, n, exclude) {
      return Promise.resolve(
        us.map((user) => {
          const u = c.users.get(key(user));
          const seen = excluded(exclude, user);
          // A user without ratings has no profile: the most rated items.
          if (u === undefined) return firstUnseen(c.popular, m.items, n, seen);
          return topK(c.cosines(u), n, (i) => seen?.has(key(m.items[i] ?? '')) ?? false).map((i) => m.items[i] ?? i);
        }),
      );
    },
    catalogue: () => m.items,
  };
}

/** Standardizes in place (mean 0, std 1 over the entries; all zeros when constant). */
function standardize(x: Float64Array): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length || 1;
  let sd = 0;
  for (const v of x) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / (x.length || 1));
  for (let i = 0; i < x.length; i++) x[i] = sd > 0 ? ((x[i] ?? 0) - mean) / sd : 0;
  return x;
}

export interface HybridComponents {
  mf: Float64Array;
  content: Float64Array;
  popularity: Float64Array;
}

/**
 * The hybrid's ranking components of a user known to the MF, over the content catalogue, each standardized over the
 * catalogue: the MF score (items the MF never saw get the user's mean MF score, 0 after standardizing), the content
 * cosine, and log(1 + popularity) of the item (its recency-weighted rating count).
 */
export function hybridRanker(m: HybridModel): (u: { mf: number; content: number | undefined }) => HybridComponents {
  const mf = mfScorer(m.mf);
  const c = contentScorer(m.content);
  const n = m.content.items.length;
  const mfAt = Int32Array.from(m.content.items, (id) => mf.items.get(key(id)) ?? -1);
  const popularity = standardize(Float64Array.from(m.popularity, (x) => Math.log1p(x)));
  return (u) => {
    const mfScores = new Float64Array(n);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const at = mfAt[i] ?? -1;
      if (at < 0) continue;
      const s = mf.raw(u.mf, at);
      mfScores[i] = s;
      sum += s;
      count++;
    }
    for (let i = 0; i < n; i++) if ((mfAt[i] ?? -1) < 0) mfScores[i] = count ? sum / count : 0;
    return {
      mf: standardize(mfScores),
      content: u.content === undefined ? new Float64Array(n) : standardize(c.cosines(u.content)),
      popularity,
    };
  };
}

/** Plain loops: Float64Array.from with a map function costs several times more per element (hot in the blend grid). */
export function blendScores(
  p: HybridComponents,
  w: HybridModel['rankBlend'],
  out = new Float64Array(p.mf.length),
): Float64Array {
  const { mf, content, popularity } = p;
  for (let i = 0; i < mf.length; i++)
    out[i] = w.mf * (mf[i] as number) + w.content * (content[i] as number) + w.popularity * (popularity[i] as number);
  return out;
}

/**
 * The hybrid (runtime/src/ml/train/hybrid.ts): a pair known to the MF gets the rating blend of the MF and content
 * ratings; any other pair the content rating (a new item: μ + b_u + its cosine; a new user: μ + b_i, the item's
 * damped mean). A user known to the MF gets the ranking blend; a new user the most popular items (recency-weighted).
 */
export function hybridPredictor(m: HybridModel): RecommenderPredictor {
  const mf = mfScorer(m.mf);
  const c = contentScorer(m.content);
  const b = m.ratingBlend;
  const clip = (v: number) => Math.min(m.content.clip.max, Math.max(m.content.clip.min, v));
  const components = hybridRanker(m);
  const popular = Array.from({ length: m.content.items.length }, (_, i) => i).sort(
    (a, b) => (m.popularity[b] ?? 0) - (m.popularity[a] ?? 0),
  );
  return {
    kind: 'recommender',
    score(us, is) {
      const out = new Float64Array(us.length);
      for (let r = 0; r < us.length; r++) {
        const user = key(us[r] ?? '');
        const item = key(is[r] ?? '');
        const mu = mf.users.get(user);
        const mi = mf.items.get(item);
        const cu = c.users.get(user);
        const ci = c.items.get(item);
        out[r] =
          mu !== undefined && mi !== undefined
            ? clip(b.intercept + b.mf * mf.finish(mf.raw(mu, mi)) + b.content * c.rating(cu, ci))
            : c.rating(cu, ci);
      }
      return Promise.resolve(out);
    },
    recommend(us, n, exclude) {
      return Promise.resolve(
        us.map((user) => {
          const mu = mf.users.get(key(user));
          const seen = excluded(exclude, user);
          if (mu === undefined) return firstUnseen(popular, m.content.items, n, seen);
          const scores = blendScores(components({ mf: mu, content: c.users.get(key(user)) }), m.rankBlend);
          return topK(scores, n, (i) => seen?.has(key(m.content.items[i] ?? '')) ?? false).map(
            (i) => m.content.items[i] ?? i,
          );
        }),
      );
    },
    catalogue: () => m.content.items,
  };
}
