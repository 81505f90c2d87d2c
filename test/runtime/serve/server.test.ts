import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema, serveHealthSchema, type ClassPrediction } from '@cairn/protocol';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { expectedYes, MODEL_A, MODEL_B, tinyModel, writeOnnxModel } from './fixture.js';

// The server over real HTTP on 127.0.0.1 with the real onnxruntime-node: every body format, every 4xx, metrics,
// the token, and a model swap under concurrent load.

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-'));
const modelA = writeOnnxModel(dir, 'a', MODEL_A);
const modelB = writeOnnxModel(dir, 'b', MODEL_B);
const TOKEN = 'test-token-0123456789';
const logs: string[] = [];
let server: ModelServer;

before(async () => {
  server = await ModelServer.start({
    model: modelA,
    port: 0,
    token: TOKEN,
    maxBodyBytes: 64 * 1024,
    bodyTimeoutMs: 300,
    log: (l) => logs.push(l),
  });
});
after(() => server.close());

const rows = [
  { age: 50, city: 'paris', score: 1 },
  { age: 30, city: 'rome', score: -2 },
  { age: 40, city: 'oslo', score: 0 }, // unseen category: every one-hot column 0
];

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

function predictions(json: unknown): ClassPrediction[] {
  const p = invocationResponseSchema.parse(json).predictions;
  const out = p.filter((x): x is ClassPrediction => typeof x === 'object' && !Array.isArray(x));
  assert.equal(out.length, p.length, 'every prediction is a class prediction');
  return out;
}

function assertModel(preds: ClassPrediction[], w: typeof MODEL_A, input = rows): void {
  assert.equal(preds.length, input.length);
  preds.forEach((p, i) => {
    const yes = expectedYes(w, input[i] as (typeof rows)[number]);
    assert.ok(
      Math.abs((p.probabilities['yes'] ?? NaN) - yes) < 1e-5,
      `row ${i + 1}: P(yes) ${p.probabilities['yes']} vs ${yes}`,
    );
    assert.ok(Math.abs((p.probabilities['no'] ?? NaN) - (1 - yes)) < 1e-5);
    assert.equal(p.label, yes > 0.5 ? 'yes' : 'no');
  });
}

test('every MLflow body format gives the same predictions, with the saved transform applied first', async () => {
  const columns = ['score', 'city', 'age', 'extra'];
  const bodies: unknown[] = [
    { dataframe_split: { columns, data: rows.map((r) => [r.score, r.city, r.age, 'ignored']) } },
    { dataframe_records: rows },
    { instances: rows },
    { instances: rows.map((r) => [r.age, r.city, r.score]) },
    { inputs: rows },
    { inputs: { age: rows.map((r) => r.age), city: rows.map((r) => r.city), score: rows.map((r) => r.score) } },
  ];
  for (const body of bodies) {
    const res = await post(body);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assertModel(predictions(res.json), MODEL_A);
  }
  // The standardization matters: without it age 50 would dominate and row 2 would be 'yes' too.
  const raw = await post({ dataframe_records: [{ age: 30, city: 'paris', score: 0 }] });
  assert.equal(predictions(raw.json)[0]?.label, 'no');
});

test('null is a missing value: a standardized column takes the training mean', async () => {
  const res = await post({ dataframe_records: [{ age: null, city: null, score: 0 }] });
  assert.equal(res.status, 200);
  assertModel(predictions(res.json), MODEL_A, [
    { age: null as unknown as number, city: null as unknown as string, score: 0 },
  ]);
});

test('GET /health reports the model and its input schema', async () => {
  const res = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const h = serveHealthSchema.parse(await res.json());
  assert.equal(h.model.path, modelA);
  assert.equal(h.model.task, 'classification');
  assert.deepEqual(h.model.classes, ['no', 'yes']);
  assert.deepEqual(h.model.inputs, [
    { name: 'age', type: 'number' },
    { name: 'city', type: 'any' },
    { name: 'score', type: 'number' },
  ]);
});

interface Case {
  name: string;
  status: number;
  code: string;
  message: RegExp;
  send: () => Promise<Response>;
}

const url = (p: string) => `${server.url}${p}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };
const good = JSON.stringify({ dataframe_records: rows });

const cases: Case[] = [
  {
    name: 'no token',
    status: 401,
    code: 'unauthorized',
    message: /Authorization: Bearer/,
    send: () =>
      fetch(url('/invocations'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: good }),
  },
  {
    name: 'wrong token',
    status: 401,
    code: 'unauthorized',
    message: /token is wrong/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${TOKEN}x` },
        body: good,
      }),
  },
  {
    name: 'token on /metrics too',
    status: 401,
    code: 'unauthorized',
    message: /Bearer/,
    send: () => fetch(url('/metrics')),
  },
  {
    name: 'unknown route',
    status: 404,
    code: 'not_found',
    message: /POST \/invocations/,
    send: () => fetch(url('/predict'), { headers: auth }),
  },
  {
    name: 'wrong method',
    status: 405,
    code: 'method_not_allowed',
    message: /takes POST/,
    send: () => fetch(url('/invocations'), { headers: auth }),
  },
  {
    name: 'wrong content type',
    status: 415,
    code: 'unsupported_media_type',
    message: /application\/json, not text\/csv/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: 'age,city\n1,2',
      }),
  },
  {
    name: 'malformed JSON',
    status: 400,
    code: 'malformed_json',
    message: /not valid JSON/,
    send: () => fetch(url('/invocations'), { method: 'POST', headers: json, body: '{"dataframe_records": [' }),
  },
  {
    name: 'unknown body format',
    status: 400,
    code: 'bad_body',
    message: /dataframe_split, dataframe_records, instances or inputs/,
    send: () => fetch(url('/invocations'), { method: 'POST', headers: json, body: '{"rows": []}' }),
  },
  {
    name: 'a cell that is an object',
    status: 400,
    code: 'bad_body',
    message: /body\.dataframe_records\[0\]\.age/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: '{"dataframe_records": [{"age": {"x": 1}, "city": "a", "score": 1}]}',
      }),
  },
  {
    name: 'missing column',
    status: 400,
    code: 'missing_column',
    message: /column "score" is missing/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ dataframe_split: { columns: ['age', 'city'], data: [[1, 'a']] } }),
      }),
  },
  {
    name: 'missing column in a record',
    status: 400,
    code: 'missing_column',
    message: /row 2: column "city" is missing/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ dataframe_records: [rows[0], { age: 1, score: 2 }] }),
      }),
  },
  {
    name: 'wrong type',
    status: 400,
    code: 'bad_type',
    message: /row 1: column "age" must be a number.*"fifty"/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ instances: [{ age: 'fifty', city: 'rome', score: 1 }] }),
      }),
  },
  {
    name: 'ragged row',
    status: 400,
    code: 'bad_row',
    message: /row 1 has 2 values but there are 3 columns/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ dataframe_split: { columns: ['age', 'city', 'score'], data: [[1, 'a']] } }),
      }),
  },
  {
    name: 'no rows',
    status: 400,
    code: 'empty',
    message: /no rows/,
    send: () => fetch(url('/invocations'), { method: 'POST', headers: json, body: '{"instances": []}' }),
  },
  {
    name: 'body over the limit',
    status: 413,
    code: 'too_large',
    message: /limit is 65536/,
    send: () =>
      fetch(url('/invocations'), {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ dataframe_records: Array.from({ length: 3000 }, () => rows[0]) }),
      }),
  },
];

for (const c of cases) {
  test(`${c.status} ${c.name}: a clear error, no stack, and the server keeps serving`, async () => {
    const res = await c.send();
    assert.equal(res.status, c.status);
    const text = await res.text();
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, c.code);
    assert.match(body.error.message, c.message);
    assert.doesNotMatch(text, /\bat .*\.(ts|js):\d+/, 'no stack frames');
    const after = await post({ instances: rows });
    assert.equal(after.status, 200);
  });
}

/** Raw socket: sends `text`, resolves with everything the server wrote once it closes the connection. */
function rawRequest(text: string): Promise<string> {
  return new Promise((resolve) => {
    const u = new URL(server.url);
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(text));
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    // A reset after the answer (the server closes mid-upload) still leaves the answer in `out`.
    sock.on('error', () => resolve(out));
    sock.on('close', () => resolve(out));
  });
}

const rawHead = (extra: string) =>
  `POST /invocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n${extra}\r\n`;

test('408 when the body does not arrive in time; the connection is closed', async () => {
  const out = await rawRequest(rawHead('Content-Length: 100\r\n') + '{"instances":');
  assert.match(out, /^HTTP\/1\.1 408/);
  assert.match(out, /did not arrive within 300 ms/);
});

test('413 for a chunked body (no Content-Length) that grows over the limit', async () => {
  const chunk = 'x'.repeat(8 * 1024);
  const out = await rawRequest(
    rawHead('Transfer-Encoding: chunked\r\n') + `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(10),
  );
  assert.match(out, /^HTTP\/1\.1 413/);
  assert.match(out, /over the limit of 65536 bytes/);
});

test('GET /metrics: Prometheus text with requests by route and status, errors, a latency histogram and in-flight', async () => {
  const res = await fetch(url('/metrics'), { headers: auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  assert.ok(value(/^cairn_serve_requests_total\{route="\/invocations",status="200"\} (\d+)$/m) >= 10);
  assert.ok(value(/^cairn_serve_requests_total\{route="\/invocations",status="401"\} (\d+)$/m) >= 2);
  assert.equal(value(/^cairn_serve_requests_total\{route="other",status="404"\} (\d+)$/m), 1);
  assert.ok(value(/^cairn_serve_errors_total\{route="\/invocations",class="4xx"\} (\d+)$/m) >= 10);
  const inf = value(/^cairn_serve_request_duration_seconds_bucket\{route="\/invocations",le="\+Inf"\} (\d+)$/m);
  assert.equal(value(/^cairn_serve_request_duration_seconds_count\{route="\/invocations"\} (\d+)$/m), inf);
  // Buckets are cumulative.
  const buckets = [
    ...text.matchAll(/^cairn_serve_request_duration_seconds_bucket\{route="\/invocations",le="[^"]+"\} (\d+)$/gm),
  ].map((m) => Number(m[1]));
  assert.deepEqual(
    buckets,
    [...buckets].sort((a, b) => a - b),
  );
  // This request itself is in flight while the text is rendered.
  assert.equal(value(/^cairn_serve_in_flight_requests (\d+)$/m), 1);
  assert.ok(value(/^cairn_serve_predictions_total (\d+)$/m) >= 18);
  // Every 4xx was logged on the server side.
  assert.ok(logs.some((l) => /^415 POST \/invocations/.test(l)));
});

test('swapModel under concurrent load: zero failed requests, old model before, new model after', async () => {
  const one = { dataframe_records: [rows[0]] };
  const pA = expectedYes(MODEL_A, rows[0] as (typeof rows)[number]);
  const pB = expectedYes(MODEL_B, rows[0] as (typeof rows)[number]);
  let swapped = false;
  let failures = 0;
  const seen = { a: 0, b: 0, bAfterSwap: 0, aAfterSwap: 0 };
  let afterSwap = 0;
  const worker = async (): Promise<void> => {
    // Each worker keeps going until 200 requests have completed after the swap (a bound, not a timer).
    while (afterSwap < 200) {
      const startedAfter = swapped;
      const res = await post(one);
      if (res.status !== 200) {
        failures++;
        continue;
      }
      const p = predictions(res.json)[0]?.probabilities['yes'] ?? NaN;
      const isA = Math.abs(p - pA) < 1e-5;
      const isB = Math.abs(p - pB) < 1e-5;
      if (!isA && !isB) failures++;
      if (isA) seen.a++;
      if (isB) seen.b++;
      if (startedAfter) {
        afterSwap++;
        if (isA) seen.aAfterSwap++;
      }
    }
  };
  const workers = Array.from({ length: 16 }, () => worker());
  // Swap once the load is running (some requests have been answered by A).
  while (seen.a < 50) await new Promise((r) => setImmediate(r));
  const info = await server.swapModel(modelB);
  swapped = true;
  assert.equal(info.path, modelB);
  await Promise.all(workers);
  assert.equal(failures, 0);
  assert.ok(seen.a >= 50 && seen.b >= 200);
  assert.equal(seen.aAfterSwap, 0, 'a request started after the swap returned was answered by the old model');
  // A swap to a broken model is refused and the current model keeps serving.
  const broken = join(dir, 'broken.onnx');
  writeFileSync(broken, 'not onnx');
  await assert.rejects(server.swapModel(broken), /not an ONNX model/);
  const res = await post(one);
  assert.equal(res.status, 200);
  assert.ok(Math.abs((predictions(res.json)[0]?.probabilities['yes'] ?? NaN) - pB) < 1e-5);
  // And back, for any later test.
  await server.swapModel(modelA);
});

test('a Cairn model.json serves the same predictions as its ONNX export', async () => {
  const json = join(dir, 'model.json');
  writeFileSync(json, JSON.stringify(tinyModel(MODEL_A)));
  const s = await ModelServer.start({ model: json, port: 0, token: null });
  try {
    const res = await fetch(`${s.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: rows }),
    });
    assert.equal(res.status, 200);
    assertModel(predictions(await res.json()), MODEL_A);
  } finally {
    await s.close();
  }
});

test('close() lets in-flight requests finish, then refuses new connections', async () => {
  const s = await ModelServer.start({ model: modelA, port: 0, token: null });
  const u = new URL(s.url);
  const body = JSON.stringify({ dataframe_records: rows });
  const half = Math.floor(body.length / 2);
  // Eight requests whose bodies are half sent: in flight for certain when close() is called.
  const socks = Array.from({ length: 8 }, () => net.connect(Number(u.port), u.hostname));
  const answers = socks.map(
    (sock) =>
      new Promise<string>((resolve) => {
        let out = '';
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => (out += d));
        sock.on('error', () => resolve(out));
        sock.on('close', () => resolve(out));
      }),
  );
  for (const sock of socks)
    sock.write(
      `POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
    );
  while (s.metrics.inFlight < 8) await new Promise((r) => setImmediate(r));
  const closed = s.close();
  for (const sock of socks) sock.write(body.slice(half));
  for (const a of await Promise.all(answers)) assert.match(a, /^HTTP\/1\.1 200/);
  await closed;
  await assert.rejects(fetch(`${s.url}/health`));
});

test('a model slower than the predict timeout: 503 at the deadline, the late answer dropped, the server keeps serving', async () => {
  const lines: string[] = [];
  const slow = await ModelServer.start({
    model: modelA,
    port: 0,
    token: TOKEN,
    predictTimeoutMs: 50,
    log: (l) => lines.push(l),
  });
  try {
    // The loaded model, made slow: it answers only once the test lets it, after the 503 has arrived (a timer would
    // race the deadline on a busy machine).
    const arms = (slow as unknown as { arms: { champion: { predict: (t: unknown) => Promise<unknown[]> } } }).arms;
    const predict = arms.champion.predict.bind(arms.champion);
    let late = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished: Promise<unknown[]> | undefined;
    arms.champion.predict = (t) => (finished = gate.then(() => predict(t)).finally(() => late++));
    // A server that waited for the model would never answer: the request gives up (and the test fails) after 30 s.
    const res = await fetch(`${slow.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ instances: [rows[0]] }),
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(late, 0, 'answered at the deadline, before the model finished');
    assert.equal(res.status, 503);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /the model took longer than 50 ms/,
    );
    assert.ok(finished, 'the request reached the model');
    release();
    await finished;
    assert.equal(late, 1, 'the model did finish later');
    arms.champion.predict = predict;
    const ok = await fetch(`${slow.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ instances: [rows[0]] }),
    });
    assert.equal(ok.status, 200);
    assert.equal(
      lines.filter((l) => l.startsWith('503')).length,
      1,
      'one 503 logged, no second answer for the late prediction',
    );
  } finally {
    await slow.close(0);
  }
});
