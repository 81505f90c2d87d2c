import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveHealthSchema, serveStartedSchema } from '@cairn/protocol';
import { main } from '../../../runtime/src/cli/main.js';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import { buildCli, spawnCli } from '../engine/cli.js';
import { ObjectStore } from '../../../runtime/src/cas/objectStore.js';
import { ModelRegistry } from '../../../runtime/src/registry/registry.js';
import { Store } from '../../../runtime/src/store/store.js';
import { firstLine, MODEL_A, MODEL_B, writeOnnxModel } from './fixture.js';
import { challengerShare } from '../../../runtime/src/serve/index.js';

// `cairn serve` as users run it: a real child process that prints its URL and token, serves, and stops on SIGTERM.

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-cli-'));
const model = writeOnnxModel(dir, 'a', MODEL_A);
let built: Promise<string> | undefined;
const cliPath = (): Promise<string> => (built ??= buildCli());

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

test('usage errors exit 2 with the reason; a model that does not load exits 1 naming the file', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['serve'], /--model is required/],
    [['serve', '--model', model, '--no-token', '--host', '0.0.0.0'], /--no-token is allowed only on a loopback host/],
    [['serve', '--model', model, '--token', 'abcdefghij', '--no-token'], /either --token or --no-token/],
    [['serve', '--model', model, '--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['serve', '--model', model, '--token', 'short'], /at least 8 characters/],
    [['serve', '--model', model, '--split', '0.3'], /give --challenger REF too/],
    [
      ['serve', '--model', model, '--challenger', model, '--split', '1.5'],
      /--split must be a number from 0 to 1, not 1\.5/,
    ],
    [['serve', '--model', model, '--no-log', '--log-sample', '0.5'], /--no-log turns the prediction log off/],
    [['serve', '--model', model, '--log-max-rows', '0'], /--log-max-rows must be an integer from 1/],
    [['serve', '--model', model, '--no-batch', '--batch-window-ms', '1'], /--no-batch turns batching off/],
    [['serve', '--model', model, '--batch-max-rows', '0'], /--batch-max-rows must be an integer from 1 to 10000/],
  ];
  for (const [args, re] of cases) {
    const r = io();
    assert.equal(await main(args, r), 2, args.join(' '));
    assert.match(r.err, re);
  }
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"format": "cairn-model"}');
  const r = io();
  assert.equal(await main(['serve', '--model', bad, '--port', '0'], r), 1);
  assert.match(r.err, /bad\.json: not a Cairn model\.json/);
});

test('cairn serve --format json prints URL and a generated token, serves, and exits 0 on SIGTERM', async () => {
  const cli = await cliPath();
  const child = spawnCli(cli, ['serve', '--model', 'a.onnx', '--port', '0', '--format', 'json'], dir);
  const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
  assert.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(started.token && started.token.length >= 24, 'a generated token');
  assert.equal(started.model.path, model);
  const body = JSON.stringify({ instances: [{ age: 50, city: 'paris', score: 1 }] });
  const denied = await fetch(`${started.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.equal(denied.status, 401);
  const ok = await fetch(`${started.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${started.token}` },
    body,
  });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { predictions: Array<{ label: string }> }).predictions[0]?.label, 'yes');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('--no-token on loopback serves without a token and says so', async () => {
  const cli = await cliPath();
  const child = spawnCli(cli, ['serve', '--model', model, '--port', '0', '--no-token'], dir);
  const line = await firstLine(child);
  const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  assert.ok(url, line);
  const res = await fetch(`${url}/health`);
  assert.equal(res.status, 200);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});

test('--model NAME@ALIAS serves a registered version, restored from the artifact store', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-ws-'));
  const file = writeOnnxModel(ws, 'model', MODEL_A);
  const store = new Store(join(ws, '.cairn', 'cairn.db'));
  const registry = new ModelRegistry(store, new ObjectStore(join(ws, '.cairn')), ws);
  await registry.register({
    name: 'credit',
    model: file,
    alias: 'production',
    runId: null,
    stepRunId: null,
    step: null,
    actor: 'test',
  });
  await store.close();
  // The registered bytes are served even after the original file is overwritten.
  writeFileSync(file, 'overwritten');

  const unknown = io();
  assert.equal(await main(['serve', '--model', 'nope@production', '--workspace', ws, '--port', '0'], unknown), 1);
  assert.match(unknown.err, /--model nope@production: no model named 'nope'/);

  const child = spawnCli(
    await cliPath(),
    ['serve', '--model', 'credit@production', '--port', '0', '--format', 'json', '--token', 'registry-token-1'],
    ws,
  );
  const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
  assert.deepEqual(started.model.registered, { name: 'credit', version: 1 });
  const res = await fetch(`${started.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer registry-token-1' },
    body: JSON.stringify({ instances: [{ age: 50, city: 'paris', score: 1 }] }),
  });
  assert.equal(res.status, 200);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(existsSync(started.model.path), false, 'the restored copy is removed on exit');
});

test('--workspace records a deployment (id in the listening line and /health) and marks it stopped on SIGTERM', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-dep-'));
  const child = spawnCli(
    await cliPath(),
    [
      'serve',
      '--model',
      model,
      '--workspace',
      ws,
      '--port',
      '0',
      '--format',
      'json',
      '--token',
      'deploy-token-1',
      '--no-log',
    ],
    dir,
  );
  const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
  assert.equal(typeof started.deploymentId, 'number');
  const h = serveHealthSchema.parse(
    await (await fetch(`${started.url}/health`, { headers: { authorization: 'Bearer deploy-token-1' } })).json(),
  );
  assert.equal(h.deploymentId, started.deploymentId);
  assert.deepEqual([h.log?.enabled, h.log?.reason], [false, 'started with --no-log']);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  const store = new Store(join(ws, '.cairn', 'cairn.db'));
  try {
    const row = store.db
      .prepare<
        [number],
        {
          name: string;
          ref: string;
          version: number | null;
          status: string;
          url: string;
          log_sample: number;
          stopped_at: number | null;
        }
      >('SELECT * FROM deployments WHERE id = ?')
      .get(started.deploymentId ?? -1);
    assert.deepEqual(
      { ...row, stopped_at: typeof row?.stopped_at },
      {
        ...row,
        name: 'a',
        ref: model,
        version: null,
        status: 'stopped',
        url: started.url,
        log_sample: 0,
        stopped_at: 'number',
      },
    );
  } finally {
    await store.close();
  }
});

test('--challenger --split --key: both models served, the split recorded on the deployment row, rows logged per arm', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-ab-cli-'));
  writeOnnxModel(dir, 'b', MODEL_B);
  const child = spawnCli(
    await cliPath(),
    [
      'serve',
      '--model',
      'a.onnx',
      '--challenger',
      'b.onnx',
      '--split',
      '0.5',
      '--key',
      'customer',
      '--workspace',
      ws,
      '--port',
      '0',
      '--format',
      'json',
      '--token',
      'ab-cli-token-1',
      '--log-sample',
      '1',
    ],
    dir,
  );
  const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
  assert.deepEqual(
    [started.challenger?.model.path, started.challenger?.split, started.challenger?.key],
    [join(dir, 'b.onnx'), 0.5, 'customer'],
  );
  const rows = Array.from({ length: 40 }, (_, i) => ({ customer: `k${i}`, age: 30 + i, city: 'paris', score: 1 }));
  const res = await fetch(`${started.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ab-cli-token-1' },
    body: JSON.stringify({ dataframe_records: rows }),
  });
  assert.equal(res.status, 200);
  const challengerRows = rows.filter((r) => challengerShare(r.customer) < 0.5).length;
  assert.equal(res.headers.get('x-cairn-arm-rows'), `champion=${40 - challengerRows},challenger=${challengerRows}`);
  const health = serveHealthSchema.parse(
    await (await fetch(`${started.url}/health`, { headers: { authorization: 'Bearer ab-cli-token-1' } })).json(),
  );
  assert.equal(
    health.log?.writer,
    'thread',
    'the bundled CLI writes the log from its writer thread (logWriter.js beside it)',
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const store = new Store(join(ws, '.cairn', 'cairn.db'));
  try {
    const row = store.db
      .prepare<[number], { challenger_ref: string; split: number; ab_key: string; log_sample: number }>(
        'SELECT challenger_ref, split, ab_key, log_sample FROM deployments WHERE id = ?',
      )
      .get(started.deploymentId ?? -1);
    assert.deepEqual(row, { challenger_ref: 'b.onnx', split: 0.5, ab_key: 'customer', log_sample: 1 });
    const arms = store.db
      .prepare<[number], { arm: string; n: number }>(
        'SELECT arm, count(*) AS n FROM predictions WHERE deployment_id = ? GROUP BY arm ORDER BY arm',
      )
      .all(started.deploymentId ?? -1);
    assert.deepEqual(arms, [
      { arm: 'challenger', n: challengerRows },
      { arm: 'champion', n: 40 - challengerRows },
    ]);
  } finally {
    await store.close();
  }
});
