import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema } from '@cairn/protocol';
import '../../../runtime/src/builtins/train.js';
import '../../../runtime/src/builtins/evaluate.js';
import { f1AtK, rankingMetrics } from '../../../runtime/src/ml/metrics/index.js';
import { contentModelSchema, hybridModelSchema, type ContentModel } from '../../../runtime/src/ml/models/artifact.js';
import { loadPredictor } from '../../../runtime/src/ml/models/index.js';
import { blendGrid, fitLinear2, holdOutNewest, recencyPopularity } from '../../../runtime/src/ml/train/hybrid.js';
import { ratingRows } from '../../../runtime/src/ml/train/interactions.js';
import { readTable } from '../../../runtime/src/ml/data/index.js';
import type { RecommenderPredictor } from '../../../runtime/src/ml/types.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { runBuiltin } from './runBuiltin.js';

// Issue 13, item 2: the content-based and hybrid recommenders, F1@k and the known / cold-start RMSE split of
// evaluate.ranking, against values worked out by hand; and both models served like matrix factorization.

const dir = mkdtempSync(join(tmpdir(), 'cairn-recommenders-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const cols = { user: 'userId', item: 'movieId', rating: 'rating' };
const servers: ModelServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function recommender(file: string): Promise<RecommenderPredictor> {
  const p = await loadPredictor(file);
  assert.equal(p.kind, 'recommender');
  if (p.kind !== 'recommender') throw new Error('not a recommender');
  return p;
}

test("F1@k is the harmonic mean of the user's precision@k and recall@k, then averaged over users", () => {
  // u1: top 4 = a b c d, relevant a c x → P = 2/4, R = 2/3, F1 = 2·(1/2)(2/3) / (1/2 + 2/3) = 4/7.
  const rel1 = new Map([
    ['a', 1],
    ['c', 1],
    ['x', 1],
  ]);
  assert.ok(Math.abs(f1AtK(['a', 'b', 'c', 'd'], rel1, 4) - 4 / 7) < 1e-15);
  // u2: no hit → 0 (not NaN); u3: one item, relevant → P = 1/4, R = 1, F1 = 2·(1/4) / (5/4) = 2/5.
  assert.equal(f1AtK(['q'], new Map([['z', 1]]), 4), 0);
  assert.equal(f1AtK(['z'], new Map([['z', 1]]), 4), 2 / 5);
  const m = rankingMetrics(
    new Map([
      ['u1', ['a', 'b', 'c', 'd']],
      ['u2', ['q']],
      ['u3', ['z']],
    ]),
    new Map([
      ['u1', rel1],
      ['u2', new Map([['z', 1]])],
      ['u3', new Map([['z', 1]])],
    ]),
    4,
    10,
  );
  assert.ok(Math.abs(m['f1@k'] - (4 / 7 + 0 + 2 / 5) / 3) < 1e-15);
});

test('content-based: profiles, cosine scores and ratings on a hand-worked example', async () => {
  // Items: 1 = genres A|B, 2 = A, 3 = B. u1 rates 1 → 5 and 2 → 1 (mean 3: weights +2, −2); u2 rates 3 → 4.
  const ratings = write('tiny.csv', 'userId,movieId,rating,genres\n1,1,5,A|B\n1,2,1,A\n2,3,4,B\n');
  const out = join(dir, 'tiny-content.json');
  const r = await runBuiltin(
    'train.content-based',
    dir,
    { ratings, ...cols, genres: 'genres', separator: '|', weighting: 'binary', min_df: 2 },
    { model: out },
  );
  const m: ContentModel = contentModelSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(m.vocabulary, ['genre:A', 'genre:B']);
  // Unit item profiles: 1 = (1, 1)/√2, 2 = (1, 0), 3 = (0, 1).
  assert.deepEqual(
    m.itemProfiles.map((p) => p.terms),
    [[0, 1], [0], [1]],
  );
  assert.ok(Math.abs((m.itemProfiles[0]?.weights[0] ?? 0) - Math.SQRT1_2) < 1e-15);
  // u1 = 2·(1, 1)/√2 − 2·(1, 0) = (√2 − 2, √2), unit: (−sin π/8, cos π/8). Its cosines: item 1 sin π/8 … in closed
  // form cos(u1, 1) = (√2 − 2 + √2)/√2 / |u1|, cos(u1, 2) = −sin(π/8), cos(u1, 3) = cos(π/8).
  const p = await recommender(out);
  assert.deepEqual(await p.recommend([1], 3), [[3, 1, 2]], 'B-only item first, A-only last');
  const norm = Math.hypot(Math.SQRT2 - 2, Math.SQRT2);
  const cos = { 1: (2 * Math.SQRT2 - 2) / Math.SQRT2 / norm, 2: (Math.SQRT2 - 2) / norm, 3: Math.SQRT2 / norm };
  assert.ok(Math.abs(cos[3] - Math.cos(Math.PI / 8)) < 1e-12 && Math.abs(cos[2] + Math.sin(Math.PI / 8)) < 1e-12);
  // Ratings: μ = 10/3; b_u1 = (6 − 2μ)/(2 + 5) = −2/21; b_i = Σ(r − μ − b_u)/(n_i + 5).
  const mu = 10 / 3;
  assert.ok(Math.abs(m.globalMean - mu) < 1e-12);
  assert.ok(Math.abs((m.userBias[0] ?? 0) + 2 / 21) < 1e-12);
  const bu2 = (4 - mu) / 6;
  assert.ok(Math.abs((m.itemBias[2] ?? 0) - (4 - mu - bu2) / 6) < 1e-12);
  const got = await p.score([1, 1, 1], [1, 2, 3]);
  [1, 2, 3].forEach((i, r) => {
    const want = Math.min(
      5,
      Math.max(1, mu + (m.userBias[0] ?? 0) + (m.itemBias[i - 1] ?? 0) + m.scale * cos[i as 1 | 2 | 3]),
    );
    assert.ok(Math.abs((got[r] ?? 0) - want) < 1e-12, `rating of item ${i}: ${got[r]} vs ${want}`);
  });
  // Leave-one-out fit of the scale: each of u1's rated items, left out, leaves the other's profile as the user's.
  // Rating 1 → LOO profile = item 2 with weight −2 → cos(·, item 1) = −1/√2; rating 2 → profile item 1 → cos = 1/√2.
  const residual = (u: number, i: number, y: number) => y - mu - (m.userBias[u] ?? 0) - (m.itemBias[i] ?? 0);
  const x = [-Math.SQRT1_2, Math.SQRT1_2];
  const y = [residual(0, 0, 5), residual(0, 1, 1)];
  assert.ok(
    Math.abs(m.scale - ((x[0] ?? 0) * (y[0] ?? 0) + (x[1] ?? 0) * (y[1] ?? 0)) / 1) < 1e-12,
    `scale ${m.scale}`,
  );
  assert.equal(r.metrics.get('vocabulary'), 2);
});

test('content-based TF-IDF: smooth idf over the catalogue, title words below min_df left out', async () => {
  const ratings = write(
    'titles.csv',
    'userId,movieId,rating,genres,title\n1,1,4,A,Star Wars\n1,2,2,A|B,Star Trek\n2,3,3,B,Alien\n',
  );
  const out = join(dir, 'titles-content.json');
  await runBuiltin(
    'train.content-based',
    dir,
    { ratings, ...cols, genres: 'genres', title: 'title', separator: '|', weighting: 'tfidf', min_df: 2 },
    { model: out },
  );
  const m = contentModelSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  // "star" is in 2 items (kept), "wars", "trek", "alien" in one (dropped); idf = ln((1 + 3)/(1 + df)) + 1.
  assert.deepEqual(m.vocabulary, ['genre:A', 'genre:B', 'title:star']);
  const idf = (df: number) => Math.log(4 / (1 + df)) + 1;
  m.idf.forEach((v, t) => assert.ok(Math.abs(v - idf(2)) < 1e-15, `idf of ${m.vocabulary[t]}`));
  // Item 2 = (A, B, star) with equal idf → each weight 1/√3.
  assert.deepEqual(m.itemProfiles[1]?.terms, [0, 1, 2]);
  for (const w of m.itemProfiles[1]?.weights ?? []) assert.ok(Math.abs(w - 1 / Math.sqrt(3)) < 1e-15);
});

/** 20 users × 12 movies with genres and titles, rated over time; movie 113 is in the catalogue only (no ratings). */
function catalogueFixture(): { ratings: string; items: string } {
  const genres = ['Action', 'Comedy', 'Drama', 'Action|Comedy'];
  const lines = ['userId,movieId,rating,timestamp,genres,title'];
  const t = 1_000_000;
  for (let u = 1; u <= 20; u++) {
    for (let m = 1; m <= 12; m++) {
      if ((u + m) % 3 === 0) continue;
      const g = genres[m % 4] ?? 'Drama';
      // Users with an even id like action, odd ones comedy: a content signal the blend can use.
      const likes = (u % 2 === 0 && g.includes('Action')) || (u % 2 === 1 && g.includes('Comedy'));
      // Times interleave users and movies, so each user's newest ratings are of different movies.
      lines.push(
        `${u},${100 + m},${likes ? 4 + (m % 2) * 0.5 : 2 + (m % 3) * 0.5},${t + ((u * 37 + m * 11) % 97) * 60 + u},${g},Movie ${m % 5} Part ${m}`,
      );
    }
  }
  const ratings = write('catalogue-ratings.csv', lines.join('\n') + '\n');
  const items = write('catalogue-items.csv', 'movieId,genres,title\n113,Action,Movie 3 Returns\n');
  return { ratings, items };
}

const hybridOptions = (ratings: string, items: string[]) => ({
  ratings,
  items,
  ...cols,
  time: 'timestamp',
  genres: 'genres',
  title: 'title',
  separator: '|',
  weighting: 'tfidf',
  min_df: 2,
  factors: 4,
  epochs: 4,
  lr: 0.02,
  l2: 0.01,
  batch_size: 32,
  seed: 3,
  valid_fraction: 0.1,
  blend_fraction: 0.2,
  popularity_half_life: 0.25,
  k: 5,
  relevance: 4,
});

test('hybrid: every row gets a prediction, new users and new items by their cold-start paths', async () => {
  const { ratings, items } = catalogueFixture();
  const out = join(dir, 'hybrid.json');
  const r = await runBuiltin('train.hybrid', dir, hybridOptions(ratings, [ratings, items]), { model: out });
  const m = hybridModelSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  for (const k of [
    'rmse',
    'val_rmse',
    'blend_rmse',
    'blend_ndcg@5',
    'weight_mf',
    'weight_content',
    'weight_popularity',
  ])
    assert.ok(Number.isFinite(r.metrics.get(k)), `metric ${k}`);
  assert.ok(
    Math.abs(m.rankBlend.mf + m.rankBlend.content + m.rankBlend.popularity - 1) < 1e-12,
    'the ranking weights lie on the simplex',
  );
  assert.ok(
    m.content.items.includes(113) && !m.mf.items.includes(113),
    'movie 113: in the catalogue, unknown to the MF',
  );
  const p = await recommender(out);
  // The hybrid's components, each served alone, are the references of its rows.
  const part = async (name: string, value: unknown) => {
    const file = join(dir, `hybrid-${name}.json`);
    writeFileSync(file, JSON.stringify(value));
    return recommender(file);
  };
  const content = await part('content', m.content);
  // Known pair, known user × new item, new user × known item, new user × new item, unknown to everything.
  const users = [2, 2, 999, 999, 999];
  const itemsAsked = [101, 113, 101, 113, 5555];
  const got = await p.score(users, itemsAsked);
  got.forEach((v, i) => assert.ok(Number.isFinite(v) && v >= 2 && v <= 5, `row ${i + 1}: ${v}`));
  const viaContent = await content.score(users, itemsAsked);
  // Cold-start rows are the content model's: a new item is μ + b_u + scale · cosine (its b_i is 0), a new user
  // μ + b_i (the item's damped mean), neither μ alone.
  for (const i of [1, 2, 3, 4]) assert.equal(got[i], viaContent[i], `cold row ${i + 1} is the content rating`);
  const c = m.content;
  const u2 = c.users.indexOf(2);
  const clip = (v: number) => Math.min(c.clip.max, Math.max(c.clip.min, v));
  assert.ok(Math.abs((viaContent[2] ?? 0) - clip(c.globalMean + (c.itemBias[c.items.indexOf(101)] ?? 0))) < 1e-12);
  assert.notEqual(
    got[1],
    clip(c.globalMean + (c.userBias[u2] ?? 0)),
    'the new item is scored from its content profile',
  );
  assert.equal(got[4], clip(c.globalMean), 'nothing known: the global mean');
  // The known pair is the rating blend of the MF and content ratings.
  const mfRating = (await (await part('mf', m.mf)).score([2], [101]))[0] ?? NaN;
  const blend = m.ratingBlend.intercept + m.ratingBlend.mf * mfRating + m.ratingBlend.content * (viaContent[0] ?? NaN);
  assert.ok(Math.abs((got[0] ?? 0) - Math.min(5, Math.max(2, blend))) < 1e-12);
  // Lists: a new user gets the most popular items (recency-weighted), a known user k unseen items of the catalogue.
  const [forNew, forKnown] = await p.recommend([999, 2], 5, new Map([[2, new Set<string | number>([101, 102])]]));
  const byPopularity = m.content.items
    .map((id, i) => ({ id, w: m.popularity[i] ?? 0 }))
    .sort((a, b) => b.w - a.w)
    .slice(0, 5)
    .map((x) => x.id);
  assert.deepEqual(forNew, byPopularity);
  assert.equal(forKnown?.length, 5);
  assert.ok(!forKnown?.includes(101) && !forKnown?.includes(102), 'excluded items stay out');
});

test('hybrid blend helpers: least squares recovers an exact line; the grid covers the simplex; per-user hold-out', async () => {
  const x1 = [1, 2, 3, 4, 5];
  const x2 = [2, 1, 0, 1, 3];
  const coef = fitLinear2(
    x1,
    x2,
    x1.map((v, i) => 0.5 + 2 * v - 0.25 * (x2[i] ?? 0)),
  );
  assert.ok(
    coef && Math.abs(coef[0] - 0.5) < 1e-6 && Math.abs(coef[1] - 2) < 1e-6 && Math.abs(coef[2] + 0.25) < 1e-6,
    JSON.stringify(coef),
  );
  const grid = blendGrid(10);
  assert.equal(grid.length, 66);
  assert.deepEqual(grid[0], { mf: 1, content: 0, popularity: 0 });
  // Recency-weighted popularity: times 0, 50, 100 with a half-life of half the span (50) weigh 1/4, 1/2 and 1.
  const three = { users: [1, 2, 3], items: ['a', 'b', 'a'], ratings: Float32Array.from([1, 1, 1]) };
  assert.deepEqual(recencyPopularity(['a', 'b', 'c'], three, [0, 50, 100], undefined, 0.5), [1.25, 0.5, 0]);
  assert.deepEqual(recencyPopularity(['a', 'b', 'c'], three, undefined, undefined, 0.5), [2, 1, 0], 'no time: counts');
  const { ratings } = catalogueFixture();
  const rows = ratingRows(await readTable(ratings), cols, ratings);
  const table = await readTable(ratings);
  const time = table.columns.find((c) => c.name === 'timestamp');
  assert.ok(time && time.type !== 'string');
  const { fitRows, heldRows } = holdOutNewest(rows, time.values, 0.2, 1);
  assert.equal(fitRows.length + heldRows.length, rows.ratings.length);
  // Each user's held-out ratings are newer than every one of that user's fitted ratings.
  for (const h of heldRows) {
    for (const f of fitRows)
      if (rows.users[f] === rows.users[h]) assert.ok((time.values[f] ?? 0) < (time.values[h] ?? 0));
  }
});

test("evaluate.ranking: f1@k, RMSE on known and on cold-start rows, and the lift of the candidate's NDCG", async () => {
  const { ratings, items } = catalogueFixture();
  const hybrid = join(dir, 'eval-hybrid.json');
  await runBuiltin('train.hybrid', dir, hybridOptions(ratings, [ratings, items]), { model: hybrid });
  const popularity = join(dir, 'eval-pop.json');
  await runBuiltin('train.popularity', dir, { ratings, ...cols }, { model: popularity });
  // Test rows: two known pairs, a known user with the new movie, a new user.
  const testFile = write('eval-test.csv', 'userId,movieId,rating\n2,103,4\n3,101,2\n2,113,5\n77,101,3\n');
  const report = join(dir, 'eval-report.json');
  const metrics = ['rmse', 'rmse_known', 'rmse_cold', 'f1@k', 'ndcg@k', 'lift_ndcg@k'];
  const r = await runBuiltin(
    'evaluate.ranking',
    dir,
    { models: [hybrid, popularity], test: testFile, train: ratings, ...cols, k: 5, relevance: 4, metrics },
    { report },
  );
  const p = await recommender(hybrid);
  const pred = await p.score([2, 3, 2, 77], [103, 101, 113, 101]);
  const rm = (ys: number[], ps: number[]) =>
    Math.sqrt(ys.reduce((s, y, i) => s + (y - (ps[i] ?? 0)) ** 2, 0) / ys.length);
  assert.equal(r.metrics.get('known_rows'), 2);
  assert.equal(r.metrics.get('cold_rows'), 2);
  assert.ok(Math.abs((r.metrics.get('rmse_known') ?? NaN) - rm([4, 2], [pred[0] ?? 0, pred[1] ?? 0])) < 1e-12);
  assert.ok(Math.abs((r.metrics.get('rmse_cold') ?? NaN) - rm([5, 3], [pred[2] ?? 0, pred[3] ?? 0])) < 1e-12);
  assert.ok(Number.isFinite(r.metrics.get('f1@5')));
  const written = JSON.parse(readFileSync(report, 'utf8')) as { models: Array<{ metrics: Record<string, number> }> };
  const [cand, base] = written.models;
  assert.equal(r.metrics.get('lift_ndcg@5'), (cand?.metrics['ndcg@5'] ?? NaN) - (base?.metrics['ndcg@5'] ?? NaN));
  await assert.rejects(
    runBuiltin(
      'evaluate.ranking',
      dir,
      { models: [hybrid], test: testFile, ...cols, k: 5, relevance: 4, metrics: ['rmse_known'] },
      { report },
    ),
    /give `train:`/,
  );
});

test('content-based and hybrid models are served like matrix factorization: a rating per row, ?k=N lists', async () => {
  const { ratings, items } = catalogueFixture();
  const files = { content: join(dir, 'serve-content.json'), hybrid: join(dir, 'serve-hybrid.json') };
  const {
    time: _t,
    factors: _f,
    epochs: _e,
    lr: _l,
    l2: _2,
    batch_size: _b,
    seed: _s,
    valid_fraction: _v,
    blend_fraction: _bf,
    popularity_half_life: _h,
    k: _k,
    relevance: _r,
    ...contentOptions
  } = hybridOptions(ratings, [ratings, items]);
  await runBuiltin('train.content-based', dir, contentOptions, { model: files.content });
  await runBuiltin('train.hybrid', dir, hybridOptions(ratings, [ratings, items]), { model: files.hybrid });
  const token = 'recommenders-token-0123456789';
  for (const file of Object.values(files)) {
    const server = await ModelServer.start({ model: file, port: 0, token });
    servers.push(server);
    const p = await recommender(file);
    const post = async (query: string, body: unknown) => {
      const res = await fetch(`${server.url}/invocations${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, `${file}${query}: ${res.status}`);
      return invocationResponseSchema.parse(await res.json()).predictions;
    };
    const pairs: Array<[number, number]> = [
      [2, 101],
      [2, 113],
      [999, 104],
    ];
    assert.deepEqual(
      await post('', { dataframe_records: pairs.map(([userId, movieId]) => ({ userId, movieId })) }),
      Array.from(
        await p.score(
          pairs.map((x) => x[0]),
          pairs.map((x) => x[1]),
        ),
      ),
    );
    assert.deepEqual(
      await post('?k=3', { dataframe_records: [{ userId: 2 }, { userId: 999 }] }),
      await p.recommend([2, 999], 3),
    );
  }
});
