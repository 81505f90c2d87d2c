import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema, type ClassPrediction } from '@cairn/protocol';
import { PredictionLog } from '../../../runtime/src/deploy/predictionLog.js';
import { Store } from '../../../runtime/src/store/store.js';
import { Batcher, type BatchCounters } from '../../../runtime/src/serve/batcher.js';
import { challengerShare, loadServedModel, ModelServer, ServeLoadError } from '../../../runtime/src/serve/index.js';
import { RequestError, requestTable } from '../../../runtime/src/serve/request.js';
import type { Loaded, Prediction } from '../../../runtime/src/serve/served.js';
import { expectedYes, MODEL_A, MODEL_B, writeOnnxModel } from './fixture.js';
import { trainRecommender } from './recommenderFixture.js';

// Adaptive batching: concurrent requests share one model call, answers split back per request, a bad row fails alone.

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-batch-'));
const modelA = writeOnnxModel(dir, 'a', MODEL_A);
const modelB = writeOnnxModel(dir, 'b', MODEL_B);
const TOKEN = 'batch-token-0123456789';
const servers: ModelServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

type Row = { customer: string; age: number; city: string; score: number };
const rowOf = (i: number): Row => ({
  customer: `c${i}`,
  age: 25 + (i % 30),
  city: i % 3 ? 'paris' : 'rome',
  score: (i % 7) - 2.75,
});
/** Finite cells whose float32 features overflow to +inf and -inf: the logit is NaN, which the server refuses to answer. */
const BAD: Row = { customer: 'bad', age: 1e41, city: 'paris', score: -1e40 };

const counters = (): BatchCounters => ({ calls: 0, batches: 0, batchedRequests: 0, fallbacks: 0 });

/** The model with its first call held until `release`, so the requests behind it queue deterministically. */
function gated(l: Loaded): { model: Loaded; release: () => void } {
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let first = true;
  return {
    release: () => release(),
    model: {
      ...l,
      predict: async (t) => {
        if (first) {
          first = false;
          await gate;
        }
        return l.predict(t);
      },
    },
  };
}

const yes = (p: Prediction | undefined): number => (p as ClassPrediction).probabilities['yes'] ?? NaN;

test('queued requests go as one call; each gets the answers of its own rows, as unbatched', async () => {
  const loaded = await loadServedModel(modelA);
  const g = gated(loaded);
  const c = counters();
  const b = new Batcher(g.model, { windowMs: 10_000, maxRows: 1000 }, c);
  const requests = Array.from({ length: 32 }, (_, i) => [rowOf(i), rowOf(i + 100)].slice(0, 1 + (i % 2)));
  const answers = requests.map((rows) => b.predict(requestTable({ dataframe_records: rows }, loaded.fields)));
  g.release();
  const got = await Promise.all(answers);
  // The first ran alone (the model was idle); the other 31 queued behind it and went as one call.
  assert.deepEqual(c, { calls: 2, batches: 1, batchedRequests: 31, fallbacks: 0 });
  for (const [i, rows] of requests.entries()) {
    const direct = await loaded.predict(requestTable({ dataframe_records: rows }, loaded.fields));
    assert.deepEqual(got[i], direct);
    rows.forEach((r, j) => assert.ok(Math.abs(yes(got[i]?.[j]) - expectedYes(MODEL_A, r)) < 1e-5));
  }
});

test('a batch reaching maxRows is flushed at once; a lone request on an idle model is never held', async () => {
  const loaded = await loadServedModel(modelA);
  const g = gated(loaded);
  const c = counters();
  const b = new Batcher(g.model, { windowMs: 10_000, maxRows: 4 }, c);
  const table = (i: number) => requestTable({ dataframe_records: [rowOf(i)] }, loaded.fields);
  const first = b.predict(table(0));
  const queued = [1, 2, 3, 4].map((i) => b.predict(table(i)));
  // Four rows reached maxRows: their call started without waiting for the gated one or the window.
  const four = await Promise.all(queued);
  assert.equal(four.length, 4);
  assert.deepEqual(c, { calls: 2, batches: 1, batchedRequests: 4, fallbacks: 0 });
  g.release();
  await first;
  await b.predict(table(9));
  assert.equal(c.calls, 3);
  assert.equal(c.batches, 1);
});

test('a row the model fails on fails only its own request; its batch neighbours get their answers', async () => {
  const loaded = await loadServedModel(modelA);
  await assert.rejects(loaded.predict(requestTable({ dataframe_records: [BAD] }, loaded.fields)), /non-finite/);
  const g = gated(loaded);
  const c = counters();
  const b = new Batcher(g.model, { windowMs: 10_000, maxRows: 1000 }, c);
  const rows = Array.from({ length: 9 }, (_, i) => (i === 5 ? BAD : rowOf(i)));
  const answers = rows.map((r) => b.predict(requestTable({ dataframe_records: [r] }, loaded.fields)));
  g.release();
  const settled = await Promise.allSettled(answers);
  settled.forEach((s, i) => {
    if (i === 5) assert.ok(s.status === 'rejected' && String(s.reason).includes('non-finite'));
    else
      assert.ok(
        s.status === 'fulfilled' && Math.abs(yes(s.value[0]) - expectedYes(MODEL_A, rows[i] as Row)) < 1e-5,
        `row ${i}`,
      );
  });
  assert.equal(c.fallbacks, 1);
});

async function post(url: string, rows: Row[]): Promise<{ status: number; predictions: ClassPrediction[] }> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ dataframe_records: rows }),
  });
  const body: unknown = await res.json();
  return {
    status: res.status,
    predictions: res.status === 200 ? (invocationResponseSchema.parse(body).predictions as ClassPrediction[]) : [],
  };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `/metrics has ${name}`);
  return Number(line.split(' ')[1]);
}

test("over HTTP with an A/B split: concurrent requests get their own arm's answers, a bad one fails alone", async () => {
  const s = await ModelServer.start({
    model: modelA,
    port: 0,
    token: TOKEN,
    challenger: { model: modelB, split: 0.5, key: 'customer' },
    batch: { windowMs: 5, maxRows: 256 },
  });
  servers.push(s);
  const rows = Array.from({ length: 64 }, (_, i) => (i === 17 ? BAD : rowOf(i)));
  const answers = await Promise.all(rows.map((r) => post(s.url, [r])));
  answers.forEach((a, i) => {
    const r = rows[i] as Row;
    if (i === 17) return assert.equal(a.status, 500);
    assert.equal(a.status, 200, `row ${i}`);
    const w = challengerShare(r.customer) < 0.5 ? MODEL_B : MODEL_A;
    assert.ok(Math.abs(yes(a.predictions[0]) - expectedYes(w, r)) < 1e-5, `row ${i} answered by its arm`);
  });
  assert.equal(
    (await metric(s.url, 'cairn_serve_arm_rows_total{arm="champion"}')) +
      (await metric(s.url, 'cairn_serve_arm_rows_total{arm="challenger"}')),
    63,
  );
  assert.ok((await metric(s.url, 'cairn_serve_model_calls_total')) >= 1);
});

test('batch: null (--no-batch) makes one model call per request and counts none', async () => {
  const s = await ModelServer.start({ model: modelA, port: 0, token: TOKEN, batch: null });
  servers.push(s);
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => post(s.url, [rowOf(i)])));
  answers.forEach((a, i) => assert.ok(Math.abs(yes(a.predictions[0]) - expectedYes(MODEL_A, rowOf(i))) < 1e-5));
  assert.equal(await metric(s.url, 'cairn_serve_batches_total'), 0);
});

test('the prediction log gets every row of concurrent requests, batched or not', async () => {
  const s = await ModelServer.start({ model: modelA, port: 0, token: TOKEN, batch: { windowMs: 5, maxRows: 256 } });
  servers.push(s);
  const store = new Store(join(dir, '.cairn', 'cairn.db'));
  const id = await store.deployments.start({
    name: 'a',
    ref: modelA,
    version: null,
    challenger: null,
    url: s.url,
    pid: process.pid,
    logSample: 1,
  });
  const log = new PredictionLog(store, id, { sample: 1, maxRows: 100_000 });
  s.attachDeployment(id, log);
  try {
    const answers = await Promise.all(Array.from({ length: 48 }, (_, i) => post(s.url, [rowOf(i), rowOf(i + 1)])));
    assert.ok(answers.every((a) => a.status === 200));
    log.flush();
    assert.equal(log.logged, 96);
    assert.equal(log.dropped, 0);
  } finally {
    await s.close();
    await log.close();
    await store.close();
  }
});

test('a recommender: coalesced (user, item) rows come back in request order; a null id fails only its request', async () => {
  const rec = await trainRecommender(dir);
  const loaded = await loadServedModel(rec.onnx);
  const g = gated(loaded);
  const c = counters();
  const b = new Batcher(g.model, { windowMs: 10_000, maxRows: 1000 }, c);
  // Users 1–20 and items 101–115 are known; 99 / 999 are unseen (the fallback score); request 7 has a null user.
  const requests = Array.from({ length: 24 }, (_, i) =>
    Array.from({ length: 1 + (i % 3) }, (_, j) => ({
      userId: i === 7 && j === 0 ? null : i === 11 ? 99 : 1 + ((i + j) % 20),
      movieId: i === 13 ? 999 : 101 + ((i * 2 + j) % 15),
    })),
  );
  const table = (rows: (typeof requests)[number]) => requestTable({ dataframe_records: rows }, loaded.fields);
  const answers = requests.map((rows) => b.predict(table(rows)));
  g.release();
  const settled = await Promise.allSettled(answers);
  for (const [i, s] of settled.entries()) {
    if (i === 7) {
      assert.ok(s.status === 'rejected' && s.reason instanceof RequestError && s.reason.status === 400, 'null id');
      continue;
    }
    assert.equal(s.status, 'fulfilled', `request ${i}`);
    if (s.status === 'fulfilled') assert.deepEqual(s.value, await loaded.predict(table(requests[i] ?? [])));
  }
  // The 23 queued requests went as one call, which failed on the null id and was retried request by request.
  assert.equal(c.batches, 1);
  assert.equal(c.fallbacks, 1);
});

test('intra-op threads (one by default, two on request) change no answer; a bad thread count fails the load', async () => {
  const table = (l: Loaded) =>
    requestTable({ dataframe_records: Array.from({ length: 64 }, (_, i) => rowOf(i)) }, l.fields);
  const one = await loadServedModel(modelA);
  const two = await loadServedModel(modelA, undefined, 2);
  assert.deepEqual(await two.predict(table(two)), await one.predict(table(one)));
  await assert.rejects(ModelServer.start({ model: modelA, port: 0, token: TOKEN, intraOpThreads: -1 }), ServeLoadError);
});
