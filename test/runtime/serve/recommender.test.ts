import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema, serveErrorSchema, serveHealthSchema } from '@cairn/protocol';
import { loadPredictor } from '../../../runtime/src/ml/models/index.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { MODEL_A, writeOnnxModel } from './fixture.js';
import { trainRecommender } from './recommenderFixture.js';

// A recommender trained by the real train.matrix-factorization built-in, served over real HTTP from its model.json
// and from its ONNX export (real onnxruntime-node): a predicted rating per (user, item) row.

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-rec-'));
const TOKEN = 'rec-token-0123456789';
let model: { json: string; onnx: string };
let json: ModelServer;
let onnx: ModelServer;

before(async () => {
  model = await trainRecommender(dir);
  [json, onnx] = await Promise.all([
    ModelServer.start({ model: model.json, port: 0, token: TOKEN }),
    ModelServer.start({ model: model.onnx, port: 0, token: TOKEN }),
  ]);
});
after(() => Promise.all([json.close(), onnx.close()]));

async function post(server: ModelServer, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// Known pairs, a known user with an item id given as text, an unknown user, an unknown item.
const pairs: Array<[number | string, number | string]> = [
  [1, 101],
  [7, 115],
  [20, '104'],
  [999, 101],
  [3, 9999],
];

test('/health reports a recommender with its user and item columns', async () => {
  const res = await fetch(`${json.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const h = serveHealthSchema.parse(await res.json());
  assert.equal(h.model.task, 'recommender');
  assert.deepEqual(
    h.model.inputs.map((i) => i.name),
    ['userId', 'movieId'],
  );
  assert.equal(h.log?.enabled, false, 'a model file served without a workspace keeps no log');
  assert.match(h.log?.reason ?? '', /without --workspace/);
});

test('each row gets the predicted rating the model computes, unknown ids their fallback, from model.json and ONNX alike', async () => {
  for (const server of [json, onnx]) {
    // Each file's own predictor is the reference: model.json falls back to the known side's bias, the ONNX scorer
    // (indices only) to the global mean.
    const predictor = await loadPredictor(server.model.path);
    assert.equal(predictor.kind, 'recommender');
    if (predictor.kind !== 'recommender') return;
    const expected = Array.from(
      await predictor.score(
        pairs.map((p) => p[0]),
        pairs.map((p) => p[1]),
      ),
    );
    const r = await post(server, {
      dataframe_split: { columns: ['movieId', 'userId', 'extra'], data: pairs.map(([u, i]) => [i, u, 'x']) },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const got = invocationResponseSchema.parse(r.json).predictions;
    assert.equal(got.length, pairs.length);
    got.forEach((p, i) => {
      assert.equal(typeof p, 'number');
      assert.ok(
        Math.abs((p as number) - (expected[i] ?? NaN)) < 1e-4,
        `row ${i + 1} on ${server.model.path}: ${JSON.stringify(p)} vs ${expected[i]}`,
      );
    });
    // Ratings stay in the trained range (1–5), including the fallbacks.
    assert.ok(got.every((p) => (p as number) >= 1 && (p as number) <= 5));
    // Known pairs agree across the two forms of the model.
    if (server === onnx) {
      const viaJson = invocationResponseSchema.parse(
        (await post(json, { dataframe_records: pairs.slice(0, 3).map(([u, i]) => ({ userId: u, movieId: i })) })).json,
      ).predictions;
      viaJson.forEach((p, i) =>
        assert.ok(
          Math.abs((p as number) - (got[i] as number)) < 1e-4,
          `known pair ${i + 1}: json ${JSON.stringify(p)} vs onnx ${JSON.stringify(got[i])}`,
        ),
      );
    }
  }
  // The records format answers the same.
  const rec = await post(json, { dataframe_records: pairs.map(([u, i]) => ({ userId: u, movieId: i })) });
  assert.deepEqual(
    invocationResponseSchema.parse(rec.json).predictions,
    invocationResponseSchema.parse((await post(json, { instances: pairs.map(([u, i]) => [u, i]) })).json).predictions,
  );
});

test('a missing user or item column, or a null id, is a 400 naming the column', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ dataframe_records: [{ userId: 1 }] }, /column "movieId" is missing/],
    [{ dataframe_split: { columns: ['movieId'], data: [[101]] } }, /column "userId" is missing/],
    [
      {
        dataframe_records: [
          { userId: 1, movieId: 101 },
          { userId: null, movieId: 101 },
        ],
      },
      /row 2: column "userId" is null/,
    ],
  ];
  for (const [body, re] of cases) {
    const r = await post(json, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(serveErrorSchema.parse(r.json).error.message, re);
  }
  assert.equal(
    (await post(json, { dataframe_records: [{ userId: 1, movieId: 101 }] })).status,
    200,
    'the server keeps serving',
  );
});

test("?k=N with rows of the user column alone answers each user's N best items, as the model ranks them", async () => {
  const predictor = await loadPredictor(model.json);
  if (predictor.kind !== 'recommender') throw new Error('not a recommender');
  const users = [1, 12, 999];
  const expected = await predictor.recommend(users, 5);
  const res = await fetch(`${json.url}/invocations?k=5`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ dataframe_records: users.map((userId) => ({ userId })) }),
  });
  assert.equal(res.status, 200);
  const got = invocationResponseSchema.parse(await res.json()).predictions;
  assert.deepEqual(got, expected);
  assert.ok(got.every((l) => Array.isArray(l) && l.length === 5));
  for (const [url, re] of [
    [`${json.url}/invocations?k=0`, /k must be an integer from 1 to 1000, not 0/],
    [`${json.url}/invocations?k=5&x=1`, null],
  ] as Array<[string, RegExp | null]>) {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ dataframe_records: [{ userId: 1 }] }),
    });
    assert.equal(r.status, re ? 400 : 200, url);
    if (re) assert.match(serveErrorSchema.parse(await r.json()).error.message, re);
  }
});

test('?k= on a classifier is a 400 saying only a recommender answers it', async () => {
  const s = await ModelServer.start({ model: writeOnnxModel(dir, 'clf', MODEL_A), port: 0, token: TOKEN });
  try {
    const r = await fetch(`${s.url}/invocations?k=3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ dataframe_records: [{ age: 1, city: 'rome', score: 0 }] }),
    });
    assert.equal(r.status, 400);
    assert.match(
      serveErrorSchema.parse(await r.json()).error.message,
      /only a recommender answers; .*clf\.onnx is a classification model/,
    );
  } finally {
    await s.close();
  }
});
