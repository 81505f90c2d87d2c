import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PredictionLog } from '../../../runtime/src/deploy/predictionLog.js';
import { main } from '../../../runtime/src/cli/main.js';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import type { ReplaySummary } from '../../../runtime/src/cli/commands/replay.js';
import { challengerShare, ModelServer } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';
import { MODEL_A, MODEL_B, writeOnnxModel } from './fixture.js';

// `cairn replay` against a real server with an A/B split and a prediction log: every row sent, labels stored as
// feedback, rows per arm as the server split them; failures counted and exit 1.

const dir = mkdtempSync(join(tmpdir(), 'cairn-replay-'));
const TOKEN = 'replay-token-0123456789';
const store = new Store(join(dir, '.cairn', 'cairn.db'));
let server: ModelServer;
let id: number;
let log: PredictionLog;
before(async () => {
  server = await ModelServer.start({
    model: writeOnnxModel(dir, 'a', MODEL_A),
    port: 0,
    token: TOKEN,
    challenger: { model: writeOnnxModel(dir, 'b', MODEL_B), split: 0.4, key: 'customer' },
  });
  id = await store.deployments.start({
    name: 'a',
    ref: 'a.onnx',
    version: null,
    challenger: { ref: 'b.onnx', version: null, split: 0.4, key: 'customer' },
    url: server.url,
    pid: process.pid,
    logSample: 1,
  });
  log = new PredictionLog(store, id, { sample: 1, maxRows: 100_000 });
  server.attachDeployment(id, log);
});
after(async () => {
  await server.close();
  await log.close();
  await store.close();
});

const N = 57;
const lines = ['customer,age,city,score,bought'];
for (let i = 0; i < N; i++)
  lines.push(`u${i % 19},${20 + i},${i % 2 ? 'paris' : 'rome'},${(i % 5) - 2},${i % 3 ? 'yes' : 'no'}`);
const table = join(dir, 'traffic.csv');
writeFileSync(table, lines.join('\n') + '\n');
writeFileSync(join(dir, 'token.txt'), TOKEN + '\n');

function io(): CliIo & { out: string; err: string } {
  const r = {
    out: '',
    err: '',
    cwd: dir,
    isTty: false,
    stdout: (t: string) => (r.out += t),
    stderr: (t: string) => (r.err += t),
  };
  return r;
}

test('replays every row in batches, posts the labels as feedback, and counts rows per arm', async () => {
  const r = io();
  const code = await main(
    [
      'replay',
      'traffic.csv',
      '--url',
      server.url,
      '--token-file',
      'token.txt',
      '--label',
      'bought',
      '--batch',
      '5',
      '--concurrency',
      '3',
      '--format',
      'json',
    ],
    r,
  );
  assert.equal(code, 0, r.err + r.out);
  const s = JSON.parse(r.out) as ReplaySummary;
  assert.equal(s.rows, N);
  assert.equal(s.requests, Math.ceil(N / 5));
  assert.equal(s.failed, 0);
  const challengerRows = Array.from({ length: N }, (_, i) => challengerShare(`u${i % 19}`) < 0.4).filter(
    Boolean,
  ).length;
  assert.deepEqual(s.arms, {
    ...(N - challengerRows ? { champion: N - challengerRows } : {}),
    ...(challengerRows ? { challenger: challengerRows } : {}),
  });
  assert.deepEqual(s.feedback, { requests: s.requests, updated: N, unknown: 0 });
  assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p99 >= s.latencyMs.p50);
  const rows = store.db
    .prepare<[number], { inputs_json: string; label_json: string; arm: string }>(
      'SELECT inputs_json, label_json, arm FROM predictions WHERE deployment_id = ? ORDER BY id',
    )
    .all(id);
  assert.equal(rows.length, N);
  assert.ok(
    rows.every((x) => x.label_json === '"yes"' || x.label_json === '"no"'),
    'every logged row got its label',
  );
  assert.ok(
    rows.every((x) => !('bought' in (JSON.parse(x.inputs_json) as object))),
    'the label column is not sent',
  );
  assert.equal(rows.filter((x) => x.arm === 'challenger').length, challengerRows);
});

test('--limit stops early; a wrong token fails every request and exits 1 with the reason', async () => {
  const r = io();
  assert.equal(
    await main(
      ['replay', 'traffic.csv', '--url', server.url, '--token', 'wrong-token-123', '--limit', '4', '--format', 'json'],
      r,
    ),
    1,
  );
  const s = JSON.parse(r.out) as ReplaySummary;
  assert.deepEqual([s.rows, s.requests, s.failed], [0, 4, 4]);
  assert.match(s.errors[0] ?? '', /401: the bearer token is wrong/);
  const text = io();
  assert.equal(await main(['replay', 'traffic.csv', '--url', server.url, '--token', TOKEN, '--limit', '3'], text), 0);
  assert.match(text.out, /Replayed 3 rows of traffic\.csv in 3 requests/);
});

test('usage errors exit 2 naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['replay'], /give the table/],
    [['replay', 'traffic.csv'], /--url is required/],
    [['replay', 'traffic.csv', '--url', 'nope'], /not a URL/],
    [
      ['replay', 'traffic.csv', '--url', server.url, '--label', 'label'],
      /--label label: traffic\.csv has no such column \(its columns: customer, age, city, score, bought\)/,
    ],
    [['replay', 'traffic.csv', '--url', server.url, '--batch', '0'], /--batch must be an integer/],
  ];
  for (const [args, re] of cases) {
    const r = io();
    assert.equal(await main(args, r), 2, args.join(' '));
    assert.match(r.err, re);
  }
  const missing = io();
  assert.equal(await main(['replay', 'nope.csv', '--url', server.url], missing), 1);
  assert.match(missing.err, /nope\.csv/);
});
