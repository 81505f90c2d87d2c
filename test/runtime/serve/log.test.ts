import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  feedbackResponseSchema,
  invocationResponseSchema,
  serveErrorSchema,
  serveHealthSchema,
  type ClassPrediction,
} from '@cairn/protocol';
import { PredictionLog, type PredictionLogOptions } from '../../../runtime/src/deploy/predictionLog.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';
import { MODEL_A, writeOnnxModel } from './fixture.js';

// The prediction log over real HTTP into a real SQLite store: what a row holds, sampling, the bound, the drop counter,
// and feedback (both body forms, unknown rows, labels racing the flush, bad bodies).

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-log-'));
const model = writeOnnxModel(dir, 'a', MODEL_A);
const TOKEN = 'log-token-0123456789';
const store = new Store(join(dir, '.cairn', 'cairn.db'));
const open: Array<{ server: ModelServer; log: PredictionLog }> = [];
after(async () => {
  for (const o of open) {
    await o.server.close();
    await o.log.close();
  }
  await store.close();
});

async function serve(
  opts: Partial<PredictionLogOptions> = {},
): Promise<{ server: ModelServer; log: PredictionLog; id: number }> {
  const server = await ModelServer.start({ model, port: 0, token: TOKEN });
  const id = await store.deployments.start({
    name: 'a',
    ref: model,
    version: null,
    challenger: null,
    url: server.url,
    pid: process.pid,
    logSample: opts.sample ?? 1,
  });
  const log = new PredictionLog(store, id, { sample: 1, maxRows: 100_000, ...opts });
  server.attachDeployment(id, log);
  open.push({ server, log });
  return { server, log, id };
}

const row = (i: number) => ({ age: 20 + i, city: i % 2 ? 'paris' : 'rome', score: i / 10 });

async function invoke(
  server: ModelServer,
  rows: unknown[],
  requestId?: string,
): Promise<{ id: string; arm: string | null; predictions: ClassPrediction[] }> {
  const res = await fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
      ...(requestId ? { 'x-request-id': requestId } : {}),
    },
    body: JSON.stringify({ dataframe_records: rows }),
  });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-cairn-request-id');
  assert.ok(id);
  return {
    id,
    arm: res.headers.get('x-cairn-arm'),
    predictions: invocationResponseSchema.parse(await res.json()).predictions as ClassPrediction[],
  };
}

async function feedback(
  server: ModelServer,
  body: unknown,
  type = 'application/json',
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}/feedback`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${TOKEN}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

interface Logged {
  request_id: string;
  row: number;
  arm: string;
  version: number | null;
  ab_key: string | null;
  inputs_json: string;
  prediction_json: string;
  latency_ms: number;
  at: number;
  label_json: string | null;
}
const logged = (id: number): Logged[] =>
  store.db.prepare<[number], Logged>('SELECT * FROM predictions WHERE deployment_id = ? ORDER BY id').all(id);

/** Runs `f` while another connection holds the store's write lock (no lock wait), so the log cannot write. */
async function whileLocked(f: () => Promise<void>): Promise<void> {
  const other = new Store(store.file, { busyTimeoutMs: 0 });
  store.db.pragma('busy_timeout = 0');
  other.db.prepare('BEGIN IMMEDIATE').run();
  try {
    await f();
  } finally {
    other.db.prepare('ROLLBACK').run();
    await other.close();
    store.db.pragma('busy_timeout = 10000');
  }
}

test('every answered row is logged after the answer: request id, row, arm, inputs as received, prediction as answered', async () => {
  const { server, log, id } = await serve();
  const a = await invoke(server, [row(1), { ...row(2), extra: 'not an input' }], 'client-id-1');
  assert.equal(a.id, 'client-id-1', "the client's X-Request-Id is the request id");
  assert.equal(a.arm, 'champion');
  const b = await invoke(server, [row(3)]);
  assert.match(b.id, /^[0-9a-f]{12}-[0-9a-z]{10}$/, 'else a generated one');
  const c = await invoke(server, [row(4)]);
  assert.ok(c.id > b.id && c.id.slice(0, 12) === b.id.slice(0, 12), 'generated ids sort by time');
  log.flush();
  const rows = logged(id);
  assert.deepEqual(
    rows.map((r) => [r.request_id, r.row, r.arm, r.version, r.ab_key]),
    [
      ['client-id-1', 0, 'champion', null, null],
      ['client-id-1', 1, 'champion', null, null],
      [b.id, 0, 'champion', null, null],
      [c.id, 0, 'champion', null, null],
    ],
  );
  assert.deepEqual(JSON.parse(rows[1]?.inputs_json ?? ''), row(2), 'the model input columns as received');
  assert.deepEqual(JSON.parse(rows[1]?.prediction_json ?? ''), a.predictions[1]);
  assert.ok(rows.every((r) => r.latency_ms > 0 && r.at > 0 && r.label_json === null));
  const h = serveHealthSchema.parse(
    await (await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json(),
  );
  assert.equal(h.deploymentId, id);
  assert.deepEqual(
    [h.log?.enabled, h.log?.sample, h.log?.logged, h.log?.pending, h.log?.writer],
    [true, 1, 4, 0, 'thread'],
  );
});

test('sampling logs the requests whose id hashes under the rate: the same ids every time, about the rate overall', async () => {
  const { server, log, id } = await serve({ sample: 0.3 });
  const ids = Array.from({ length: 200 }, (_, i) => `req-${i}`);
  for (const r of ids) await invoke(server, [row(1)], r);
  log.flush();
  const got = new Set(logged(id).map((r) => r.request_id));
  assert.deepEqual(got, new Set(ids.filter((r) => log.sampled(r))));
  // 200 draws at 0.3: a standard deviation of 0.032; ±0.12 is beyond 3.5 of them.
  assert.ok(got.size >= 36 && got.size <= 84, `${got.size} of 200 logged at sample 0.3`);
  const unsampled = ids.find((r) => !got.has(r)) ?? '';
  assert.deepEqual(
    feedbackResponseSchema.parse((await feedback(server, { request_id: unsampled, labels: ['yes'] })).json),
    { updated: 0, unknown: 1 },
    'feedback on an unsampled request is unknown',
  );
});

test('the log keeps at most --log-max-rows rows per deployment, the newest', async () => {
  const { server, log, id } = await serve({ maxRows: 50, batchRows: 20 });
  for (let i = 0; i < 12; i++)
    await invoke(
      server,
      Array.from({ length: 10 }, (_, j) => row(j)),
      `bound-${i}`,
    );
  log.flush();
  const rows = logged(id);
  assert.equal(rows.length, 50);
  assert.deepEqual(
    [...new Set(rows.map((r) => r.request_id))],
    ['bound-7', 'bound-8', 'bound-9', 'bound-10', 'bound-11'],
  );
});

test('one flush of many rows (several multi-row inserts and a remainder) keeps every row in order; a repeated request id is not logged twice', async () => {
  const { server, log, id } = await serve({ flushMs: 60_000, batchRows: 1_000 });
  const sent = Array.from({ length: 123 }, (_, j) => row(j));
  const a = await invoke(server, sent, 'many-rows');
  await invoke(server, sent.slice(0, 3), 'many-rows');
  assert.equal(log.pending, 126, 'all still buffered: one flush writes them');
  log.flush();
  const rows = logged(id);
  assert.deepEqual(
    rows.map((r) => [r.request_id, r.row]),
    sent.map((_, j) => ['many-rows', j]),
  );
  assert.deepEqual(
    rows.map((r) => JSON.parse(r.inputs_json) as unknown),
    sent,
  );
  assert.deepEqual(
    rows.map((r) => JSON.parse(r.prediction_json) as unknown),
    a.predictions,
  );
  assert.equal(log.logged, 123, 'the repeated id matched rows already logged: not counted as written');
});

test('a full buffer drops rows, counted in /metrics, and requests are still answered', async () => {
  const { server } = await serve({ capacity: 5, flushMs: 60_000, batchRows: 1_000 });
  await invoke(
    server,
    Array.from({ length: 8 }, (_, j) => row(j)),
  );
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  assert.match(text, /^cairn_predictions_dropped_total 3$/m);
});

test('feedback: one label per row or (request, row, label) items; nulls skipped; unknown rows counted', async () => {
  const { server, id } = await serve();
  const a = await invoke(server, [row(1), row(2), row(3)]);
  const b = await invoke(server, [row(4)]);
  assert.deepEqual(
    feedbackResponseSchema.parse(
      (await feedback(server, { request_id: a.id, labels: ['yes', null, 'no', 'extra-row'] })).json,
    ),
    { updated: 2, unknown: 1 },
  );
  assert.deepEqual(
    feedbackResponseSchema.parse(
      (
        await feedback(server, {
          feedback: [
            { request_id: b.id, row: 0, label: 4.5 },
            { request_id: 'never-sent', row: 0, label: 1 },
            { request_id: a.id, row: 1, label: null },
          ],
        })
      ).json,
    ),
    { updated: 1, unknown: 1 },
  );
  const labels = logged(id).map((r) => [r.request_id, r.row, r.label_json]);
  assert.deepEqual(labels, [
    [a.id, 0, '"yes"'],
    [a.id, 1, null],
    [a.id, 2, '"no"'],
    [b.id, 0, '4.5'],
  ]);
});

test('labels that arrive before the flush are kept (feedback flushes first)', async () => {
  const { server, log, id } = await serve({ flushMs: 60_000, batchRows: 1_000 });
  const a = await invoke(server, [row(1), row(2)]);
  assert.equal(log.pending, 2, 'still buffered when the label arrives');
  assert.deepEqual(
    feedbackResponseSchema.parse((await feedback(server, { request_id: a.id, labels: ['no', 'yes'] })).json),
    { updated: 2, unknown: 0 },
  );
  assert.deepEqual(
    logged(id).map((r) => r.label_json),
    ['"no"', '"yes"'],
  );
});

test('labels for rows still buffered while the store is locked are attached to the buffered rows', async () => {
  const { server, log, id } = await serve({ flushMs: 60_000, batchRows: 1_000 });
  const a = await invoke(server, [row(1)]);
  // Another connection holds the write lock: the flush inside /feedback cannot write.
  await whileLocked(async () => {
    assert.deepEqual(
      feedbackResponseSchema.parse((await feedback(server, { request_id: a.id, labels: ['yes'] })).json),
      { updated: 1, unknown: 0 },
    );
    assert.equal(log.pending, 1);
  });
  log.flush();
  assert.deepEqual(
    logged(id).map((r) => r.label_json),
    ['"yes"'],
  );
});

test('on the serving thread (thread: false) the same: rows written in order, a label for a row the locked store could not take is kept with it', async () => {
  const { server, log, id } = await serve({ flushMs: 60_000, batchRows: 1_000, thread: false });
  assert.equal(log.threaded, false);
  const a = await invoke(server, [row(1), row(2)]);
  await whileLocked(async () => {
    assert.deepEqual(
      feedbackResponseSchema.parse((await feedback(server, { request_id: a.id, labels: [null, 'no'] })).json),
      { updated: 1, unknown: 0 },
    );
    assert.equal(log.pending, 2);
  });
  log.flush();
  assert.deepEqual(
    logged(id).map((r) => [r.row, r.label_json]),
    [
      [0, null],
      [1, '"no"'],
    ],
  );
  const h = serveHealthSchema.parse(
    await (await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json(),
  );
  assert.equal(h.log?.writer, 'serving-thread');
});

test('a writer thread that cannot open the store: the log says so and writes on the serving thread, losing nothing', async () => {
  const lines: string[] = [];
  // The same store, but the thread is told a file that is not there.
  const elsewhere = Object.create(store, { file: { value: join(dir, 'no-such', 'cairn.db') } }) as Store;
  const server = await ModelServer.start({ model, port: 0, token: TOKEN });
  const id = await store.deployments.start({
    name: 'a',
    ref: model,
    version: null,
    challenger: null,
    url: server.url,
    pid: process.pid,
    logSample: 1,
  });
  const log = new PredictionLog(elsewhere, id, {
    sample: 1,
    maxRows: 100_000,
    flushMs: 60_000,
    batchRows: 1_000,
    log: (l) => lines.push(l),
  });
  server.attachDeployment(id, log);
  open.push({ server, log });
  const a = await invoke(server, [row(1), row(2), row(3)]);
  log.flush();
  assert.equal(log.threaded, false);
  assert.match(lines.join('\n'), /writer thread could not open the store.*writing on the serving thread/);
  assert.deepEqual(
    logged(id).map((r) => [r.request_id, r.row]),
    [
      [a.id, 0],
      [a.id, 1],
      [a.id, 2],
    ],
  );
  assert.deepEqual([log.logged, log.dropped, log.pending], [3, 0, 0]);
});

test('bad feedback is a 4xx saying what to send; the server keeps serving', async () => {
  const { server } = await serve();
  const cases: Array<[unknown, number, RegExp, string?]> = [
    ['{"request_id": ', 400, /not valid JSON/],
    [{ labels: ['yes'] }, 400, /request_id/],
    [{ request_id: 'x', labels: [] }, 400, /labels/],
    [{ request_id: 'x', labels: [{ nested: 1 }] }, 400, /labels/],
    [{ feedback: [{ request_id: 'x', row: -1, label: 1 }] }, 400, /row/],
    [{ request_id: 'x', labels: [1], extra: true }, 400, /extra|Unrecognized/],
    [{ request_id: 'x', labels: [1] }, 415, /application\/json/, 'text/plain'],
  ];
  for (const [body, status, re, type] of cases) {
    const r = await feedback(server, body, type);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(serveErrorSchema.parse(r.json).error.message, re, JSON.stringify(body));
  }
  const denied = await fetch(`${server.url}/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(denied.status, 401);
  const get = await fetch(`${server.url}/feedback`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.status, 405);
  await invoke(server, [row(1)]);
});

test('without a log (a model file and no workspace) /feedback is a 409 that says why', async () => {
  const server = await ModelServer.start({ model, port: 0, token: TOKEN });
  try {
    const r = await feedback(server, { request_id: 'x', labels: [1] });
    assert.equal(r.status, 409);
    assert.match(
      serveErrorSchema.parse(r.json).error.message,
      /no prediction log \(serving a model file without --workspace/,
    );
  } finally {
    await server.close();
  }
});
