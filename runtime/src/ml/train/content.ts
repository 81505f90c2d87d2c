import type { ContentModel, SparseVector } from '../models/artifact.js';
import type { Table } from '../types.js';
import { columnOf, idAt, type IndexedInteractions } from './interactions.js';
import { TrainingError } from './loop.js';

/**
 * The content-based recommender (docs/ml.md, "Content-based and hybrid recommenders").
 *
 * Item profile: one term per genre (`genre:Drama`) and per title word (`title:dumbo`, words in at least `minDf`
 * items), weighted tf·idf with sklearn's smooth idf, ln((1 + N) / (1 + df)) + 1, over the N catalogue items (or 1 per
 * present term under binary weighting: genres one-hot), then scaled to unit length.
 * User profile: Σ_i (r_ui − r̄_u) · item profile_i over the user's rated items (r̄_u the user's mean rating), unit length:
 * liked items pull toward their terms, disliked ones push away.
 * Score: cos(user, item) = user profile · item profile.
 * Rating: r̂ = μ + b_u + b_i + scale · cos, clipped to the training range, with b_u, b_i the damped mean offsets (as
 * the popularity baseline shrinks) and `scale` the least-squares fit of the residuals r − μ − b_u − b_i on the
 * leave-one-out cosine (the profile without the rated item itself, so the fit does not reward memorizing).
 */
export interface ContentFeatureOptions {
  item: string;
  genres: string;
  title?: string;
  separator: string;
  weighting: 'tfidf' | 'binary';
  minDf: number;
}

/** Pseudo-ratings pulling the user and item offsets toward 0 (as the popularity baseline's `damping`). */
export const BIAS_DAMPING = 5;

export interface ItemFeatures {
  id: string | number;
  genres: string[];
  words: string[];
}

const key = (id: string | number) => String(id);

export function genreTokens(text: string | null, separator: string): string[] {
  if (!text) return [];
  return [
    ...new Set(
      text
        .split(separator)
        .map((g) => g.trim())
        .filter((g) => g.length > 0),
    ),
  ];
}

/** Lower-cased words of a title, letters and digits only, two characters or more (repeats kept: they are the tf). */
export function titleWords(text: string | null): string[] {
  if (!text) return [];
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2);
}

function cell(table: Table, name: string, row: number): string | null {
  const col = table.columns.find((c) => c.name === name);
  if (!col) return null;
  if (col.type === 'string') return col.values[row] ?? null;
  return col.missing?.[row] ? null : String(col.values[row]);
}

/** Item features from tables that hold them (each row repeats its item's features; the first row of an item wins). */
export function readItemFeatures(
  tables: ReadonlyArray<{ table: Table; file: string }>,
  o: ContentFeatureOptions,
): Map<string, ItemFeatures> {
  const out = new Map<string, ItemFeatures>();
  for (const { table, file } of tables) {
    const itemCol = columnOf(table, o.item, file, 'item');
    columnOf(table, o.genres, file, 'genres');
    if (o.title !== undefined) columnOf(table, o.title, file, 'title');
    for (let r = 0; r < table.rowCount; r++) {
      const id = idAt(itemCol, r);
      if (id === undefined || out.has(key(id))) continue;
      out.set(key(id), {
        id,
        genres: genreTokens(cell(table, o.genres, r), o.separator),
        words: o.title === undefined ? [] : titleWords(cell(table, o.title, r)),
      });
    }
  }
  return out;
}

export interface Vocabulary {
  terms: string[];
  idf: Float64Array;
  index: Map<string, number>;
}

export function buildVocabulary(
  items: readonly ItemFeatures[],
  o: Pick<ContentFeatureOptions, 'weighting' | 'minDf'>,
): Vocabulary {
  const df = new Map<string, number>();
  for (const it of items)
    for (const t of new Set([...it.genres.map((g) => `genre:${g}`), ...it.words.map((w) => `title:${w}`)]))
      df.set(t, (df.get(t) ?? 0) + 1);
  // Genres always count; title words need minDf items. Sorted, so the vocabulary does not depend on row order.
  const terms = [...df.entries()]
    .filter(([t, d]) => t.startsWith('genre:') || d >= o.minDf)
    .map(([t]) => t)
    .sort();
  const n = items.length;
  const idf = Float64Array.from(terms, (t) =>
    o.weighting === 'binary' ? 1 : Math.log((1 + n) / (1 + (df.get(t) ?? 0))) + 1,
  );
  return { terms, idf, index: new Map(terms.map((t, i) => [t, i])) };
}

/** An item's unit-length profile (empty when none of its terms is in the vocabulary). */
export function itemProfile(it: ItemFeatures, v: Vocabulary, weighting: 'tfidf' | 'binary'): SparseVector {
  const tf = new Map<number, number>();
  const add = (term: string, n: number) => {
    const at = v.index.get(term);
    if (at !== undefined) tf.set(at, weighting === 'binary' ? 1 : (tf.get(at) ?? 0) + n);
  };
  for (const g of it.genres) add(`genre:${g}`, 1);
  for (const w of it.words) add(`title:${w}`, 1);
  const terms = [...tf.keys()].sort((a, b) => a - b);
  const weights = terms.map((t) => (tf.get(t) ?? 0) * (v.idf[t] ?? 1));
  const norm = Math.hypot(...weights);
  return { terms, weights: norm > 0 ? weights.map((w) => w / norm) : weights };
}

/** a · b for a dense a. */
export function sparseDot(dense: ArrayLike<number>, s: SparseVector): number {
  let d = 0;
  for (let j = 0; j < s.terms.length; j++) d += (dense[s.terms[j] ?? 0] ?? 0) * (s.weights[j] ?? 0);
  return d;
}

function toSparse(dense: Float64Array, scale: number): SparseVector {
  const terms: number[] = [];
  const weights: number[] = [];
  for (let t = 0; t < dense.length; t++) {
    const w = dense[t] ?? 0;
    if (w !== 0) {
      terms.push(t);
      weights.push(w * scale);
    }
  }
  return { terms, weights };
}

export function trainContent(
  ix: IndexedInteractions,
  features: ReadonlyMap<string, ItemFeatures>,
  columns: ContentModel['columns'],
  o: ContentFeatureOptions,
): ContentModel {
  const { data } = ix;
  const n = data.ratings.length;
  if (n === 0) throw new TrainingError('the ratings table has no rows');
  // The catalogue: rated items first (their training index), then items known only from the feature tables.
  const catalogue: ItemFeatures[] = ix.items.map((id) => features.get(key(id)) ?? { id, genres: [], words: [] });
  const rated = new Set(ix.items.map(key));
  for (const [k, f] of features) if (!rated.has(k)) catalogue.push(f);
  const vocabulary = buildVocabulary(catalogue, o);
  if (vocabulary.terms.length === 0)
    throw new TrainingError(
      `no item has any genre in column "${o.genres}"${o.title ? ` or title word in "${o.title}"` : ''}; name the item feature columns with \`genres:\` and \`title:\``,
    );
  const profiles = catalogue.map((it) => itemProfile(it, vocabulary, o.weighting));

  let mu = 0;
  for (let r = 0; r < n; r++) mu += data.ratings[r] ?? 0;
  mu /= n;
  const userCount = new Float64Array(data.nUsers);
  const userSum = new Float64Array(data.nUsers);
  for (let r = 0; r < n; r++) {
    const u = data.users[r] ?? 0;
    userCount[u] = (userCount[u] ?? 0) + 1;
    userSum[u] = (userSum[u] ?? 0) + (data.ratings[r] ?? 0);
  }
  const userBias = Float64Array.from(userCount, (c, u) => ((userSum[u] ?? 0) - c * mu) / (c + BIAS_DAMPING));
  const itemCount = new Float64Array(catalogue.length);
  const itemSum = new Float64Array(catalogue.length);
  for (let r = 0; r < n; r++) {
    const i = data.items[r] ?? 0;
    itemCount[i] = (itemCount[i] ?? 0) + 1;
    itemSum[i] = (itemSum[i] ?? 0) + (data.ratings[r] ?? 0) - mu - (userBias[data.users[r] ?? 0] ?? 0);
  }
  const itemBias = Float64Array.from(itemCount, (c, i) => (itemSum[i] ?? 0) / (c + BIAS_DAMPING));

  // Raw (unnormalized) user profiles, dense per user while summing.
  const width = vocabulary.terms.length;
  const raw = Array.from({ length: data.nUsers }, () => new Float64Array(width));
  for (let r = 0; r < n; r++) {
    const u = data.users[r] ?? 0;
    const c = (data.ratings[r] ?? 0) - (userSum[u] ?? 0) / (userCount[u] ?? 1);
    const p = profiles[data.items[r] ?? 0] as SparseVector;
    const acc = raw[u] as Float64Array;
    for (let j = 0; j < p.terms.length; j++)
      acc[p.terms[j] ?? 0] = (acc[p.terms[j] ?? 0] ?? 0) + c * (p.weights[j] ?? 0);
  }
  const norms = raw.map((p) => Math.sqrt(p.reduce((s, x) => s + x * x, 0)));

  // scale: least squares of the residual on the leave-one-out cosine, |p − c·v|² = |p|² − 2c·p·v + c²|v|².
  let sxy = 0;
  let sxx = 0;
  for (let r = 0; r < n; r++) {
    const u = data.users[r] ?? 0;
    const i = data.items[r] ?? 0;
    const v = profiles[i] as SparseVector;
    const vv = v.weights.reduce((s, x) => s + x * x, 0);
    if (vv === 0) continue;
    const c = (data.ratings[r] ?? 0) - (userSum[u] ?? 0) / (userCount[u] ?? 1);
    const dot = sparseDot(raw[u] as Float64Array, v);
    const norm2 = (norms[u] ?? 0) ** 2 - 2 * c * dot + c * c * vv;
    if (norm2 <= 1e-12) continue;
    const x = (dot - c * vv) / Math.sqrt(norm2 * vv);
    const y = (data.ratings[r] ?? 0) - mu - (userBias[u] ?? 0) - (itemBias[i] ?? 0);
    sxy += x * y;
    sxx += x * x;
  }
  const scale = sxx > 0 ? sxy / sxx : 0;
  return {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'content-based',
    columns,
    features: {
      genres: o.genres,
      ...(o.title !== undefined ? { title: o.title } : {}),
      separator: o.separator,
      weighting: o.weighting,
    },
    vocabulary: vocabulary.terms,
    idf: Array.from(vocabulary.idf),
    items: catalogue.map((c) => c.id),
    itemProfiles: profiles,
    itemCounts: Array.from(itemCount),
    itemBias: Array.from(itemBias),
    users: ix.users,
    userProfiles: raw.map((p, u) => toSparse(p, (norms[u] ?? 0) > 0 ? 1 / (norms[u] ?? 1) : 0)),
    userBias: Array.from(userBias),
    globalMean: mu,
    scale,
    clip: ix.ratingRange,
  };
}
