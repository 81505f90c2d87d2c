import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema, serveHealthSchema, serveStartedSchema, type ClassPrediction } from '@cairn/protocol';
import { AliasFollower, challengerShare, ModelServer, restoreVersion } from '../../../runtime/src/serve/index.js';
import { ObjectStore } from '../../../runtime/src/cas/objectStore.js';
import { ModelRegistry } from '../../../runtime/src/registry/registry.js';
import { Store } from '../../../runtime/src/store/store.js';
import { buildCli, spawnCli } from '../engine/cli.js';
import { expectedYes, firstLine, MODEL_A, MODEL_B, writeOnnxModel, type Weights } from './fixture.js';

// A/B over real HTTP: champion MODEL_A, challenger MODEL_B (their answers tell the arm apart), sticky by a key column
// or the X-Cairn-Key header; then `cairn serve NAME@alias` as a child process following an alias move under load.

const dir = mkdtempSync(join(tmpdir(), 'cairn-serve-ab-'));
const modelA = writeOnnxModel(dir, 'a', MODEL_A);
const modelB = writeOnnxModel(dir, 'b', MODEL_B);
const TOKEN = 'ab-token-0123456789';
const servers: ModelServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function start(key: string | null, split = 0.3): Promise<ModelServer> {
  const s = await ModelServer.start({
    model: modelA,
    port: 0,
    token: TOKEN,
    challenger: { model: modelB, split, key },
  });
  servers.push(s);
  return s;
}

type Row = { customer: string; age: number; city: string; score: number };
// score k + 0.25 keeps every logit off 0, where MODEL_A and MODEL_B (its negation) would both answer 0.5.
const rowOf = (i: number): Row => ({
  customer: `c${i}`,
  age: 25 + (i % 30),
  city: i % 3 ? 'paris' : 'rome',
  score: (i % 7) - 2.75,
});

/** Which model answered a row: its P(yes) matches one model's by hand. */
function armOf(p: ClassPrediction, r: Row): 'champion' | 'challenger' {
  const yes = p.probabilities['yes'] ?? NaN;
  const near = (w: Weights) => Math.abs(yes - expectedYes(w, r)) < 1e-5;
  if (near(MODEL_A) && !near(MODEL_B)) return 'champion';
  if (near(MODEL_B) && !near(MODEL_A)) return 'challenger';
  throw new Error(`row ${r.customer}: P(yes) ${yes} matches neither model`);
}

async function invoke(
  url: string,
  rows: Row[],
  headers: Record<string, string> = {},
): Promise<{ arms: Array<'champion' | 'challenger'>; headers: Headers }> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify({ dataframe_records: rows }),
  });
  assert.equal(res.status, 200);
  const p = invocationResponseSchema.parse(await res.json()).predictions as ClassPrediction[];
  return { arms: p.map((x, i) => armOf(x, rows[i] as Row)), headers: res.headers };
}

test('--key: each row goes to the arm its key hashes to, the same on every request and every server; about the split overall', async () => {
  const s = await start('customer');
  const rows = Array.from({ length: 300 }, (_, i) => rowOf(i));
  const first = new Map<string, string>();
  for (let i = 0; i < rows.length; i += 25) {
    const batch = rows.slice(i, i + 25);
    const r = await invoke(s.url, batch);
    batch.forEach((row, j) => first.set(row.customer, r.arms[j] ?? ''));
    const ch = r.arms.filter((a) => a === 'challenger').length;
    assert.equal(r.headers.get('x-cairn-arm-rows'), `champion=${batch.length - ch},challenger=${ch}`);
    assert.equal(r.headers.get('x-cairn-arm'), ch === 0 ? 'champion' : ch === batch.length ? 'challenger' : 'mixed');
  }
  // The hash decides: exactly the keys under the split, whatever the request order or the server instance.
  for (const [k, arm] of first) assert.equal(arm, challengerShare(k) < 0.3 ? 'challenger' : 'champion', k);
  const again = await start('customer');
  const shuffled = [...rows].reverse().slice(0, 100);
  const r2 = await invoke(again.url, shuffled);
  shuffled.forEach((row, j) =>
    assert.equal(r2.arms[j], first.get(row.customer), `${row.customer} is sticky across servers`),
  );
  // 300 keys at 0.3: a standard deviation of 0.026; ±0.1 is nearly 4 of them.
  const share = [...first.values()].filter((a) => a === 'challenger').length / first.size;
  assert.ok(share > 0.2 && share < 0.4, `challenger share ${share}`);
  const metrics = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const challengerRows = [...first.values()].filter((a) => a === 'challenger').length;
  assert.match(metrics, new RegExp(`^cairn_serve_arm_rows_total\\{arm="challenger"\\} ${challengerRows}$`, 'm'));
  assert.match(metrics, new RegExp(`^cairn_serve_arm_rows_total\\{arm="champion"\\} ${300 - challengerRows}$`, 'm'));
  assert.match(metrics, /^cairn_serve_arm_requests_total\{arm="challenger"\} \d+$/m);
});

test('without --key the X-Cairn-Key header picks the arm of the whole request; a missing key column is a 400', async () => {
  const s = await start(null, 0.5);
  const rows = [rowOf(1), rowOf(2), rowOf(3)];
  for (const key of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
    const expected = challengerShare(key) < 0.5 ? 'challenger' : 'champion';
    for (let i = 0; i < 2; i++) {
      const r = await invoke(s.url, rows, { 'x-cairn-key': key });
      assert.deepEqual(r.arms, [expected, expected, expected], key);
      assert.equal(r.headers.get('x-cairn-arm'), expected);
    }
  }
  const h = serveHealthSchema.parse(
    await (await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json(),
  );
  assert.equal(h.model.path, modelA);
  assert.deepEqual([h.challenger?.model.path, h.challenger?.split, h.challenger?.key], [modelB, 0.5, null]);
  const keyed = await start('customer');
  const res = await fetch(`${keyed.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ dataframe_records: [{ age: 1, city: 'rome', score: 0 }] }),
  });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /"customer" is missing/);
});

test('serving NAME@alias follows the alias: a promotion under continuous load swaps the version with zero failed requests', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-follow-'));
  const v1 = writeOnnxModel(ws, 'v1', MODEL_A);
  const v2 = writeOnnxModel(ws, 'v2', MODEL_B);
  const store = new Store(join(ws, '.cairn', 'cairn.db'));
  const registry = new ModelRegistry(store, new ObjectStore(join(ws, '.cairn')), ws);
  await registry.register({
    name: 'credit',
    model: v1,
    alias: 'production',
    runId: null,
    stepRunId: null,
    step: null,
    actor: 'test',
  });
  await registry.register({ name: 'credit', model: v2, runId: null, stepRunId: null, step: null, actor: 'test' });
  const child = spawnCli(
    await buildCli(),
    ['serve', '--model', 'credit@production', '--port', '0', '--format', 'json', '--token', TOKEN, '--follow-ms', '50'],
    ws,
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
    assert.ok(started.deploymentId !== null && started.deploymentId !== undefined, 'a registry ref is a deployment');
    const dep = () =>
      store.db
        .prepare<[number], { version: number; status: string; ref: string; pid: number }>(
          'SELECT version, status, ref, pid FROM deployments WHERE id = ?',
        )
        .get(started.deploymentId ?? -1);
    assert.deepEqual(dep(), { version: 1, status: 'serving', ref: 'credit@production', pid: child.pid });
    const row = rowOf(5);
    let failed = 0;
    let promoted = false;
    const versions: string[] = [];
    // Four clients loop until the answers come from version 2; the alias moves while they run.
    const client = async (): Promise<void> => {
      for (let i = 0; i < 5000; i++) {
        try {
          const r = await invoke(started.url, [row]);
          const v = r.headers.get('x-cairn-version') ?? '';
          versions.push(v);
          assert.equal(
            r.arms[0],
            v === '1' ? 'champion' : 'challenger',
            'version 1 answers as MODEL_A, version 2 as MODEL_B',
          );
          if (promoted && v === '2') return;
        } catch (e) {
          failed++;
          if (failed > 5) throw e;
        }
        if (i === 20 && !promoted) {
          await registry.setAlias('credit', 'production', 2, 'test', 'promotion under load');
          promoted = true;
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    assert.equal(failed, 0);
    assert.ok(
      versions.includes('1') && versions.at(-1) === '2',
      `answers switch from version 1 to 2 (${versions.length} requests)`,
    );
    const h = serveHealthSchema.parse(
      await (await fetch(`${started.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json(),
    );
    assert.deepEqual(h.model.registered, { name: 'credit', version: 2 });
    assert.equal(dep()?.version, 2, 'the deployment row follows');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(dep()?.status, 'stopped');
    const logged = store.db
      .prepare<[number], { n: number; v1: number; v2: number }>(
        'SELECT count(*) AS n, sum(version = 1) AS v1, sum(version = 2) AS v2 FROM predictions WHERE deployment_id = ?',
      )
      .get(started.deploymentId);
    assert.equal(logged?.n, versions.length, 'every request logged (sample 1), flushed on SIGTERM');
    assert.ok((logged?.v1 ?? 0) > 0 && (logged?.v2 ?? 0) > 0);
  } finally {
    child.kill('SIGKILL');
    await store.close();
  }
});

test('the challenger arm follows its alias too; a version that does not load is refused and the old one keeps serving', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-follow-ch-'));
  const store = new Store(join(ws, '.cairn', 'cairn.db'));
  const registry = new ModelRegistry(store, new ObjectStore(join(ws, '.cairn')), ws);
  await registry.register({
    name: 'credit',
    model: writeOnnxModel(ws, 'v1', MODEL_A),
    alias: 'champion',
    runId: null,
    stepRunId: null,
    step: null,
    actor: 'test',
  });
  await registry.register({
    name: 'credit',
    model: writeOnnxModel(ws, 'v2', MODEL_B),
    alias: 'challenger',
    runId: null,
    stepRunId: null,
    step: null,
    actor: 'test',
  });
  const broken = join(ws, 'broken.onnx');
  writeFileSync(broken, 'not a model');
  await registry.register({ name: 'credit', model: broken, runId: null, stepRunId: null, step: null, actor: 'test' });
  await registry.register({
    name: 'credit',
    model: writeOnnxModel(ws, 'v4', MODEL_A),
    runId: null,
    stepRunId: null,
    step: null,
    actor: 'test',
  });
  const champion = await restoreVersion(store, ws, 'credit@champion');
  const challenger = await restoreVersion(store, ws, 'credit@challenger');
  const s = await ModelServer.start({
    model: champion.file,
    registered: { name: 'credit', version: 1 },
    port: 0,
    token: TOKEN,
    challenger: { model: challenger.file, registered: { name: 'credit', version: 2 }, split: 1, key: null },
  });
  servers.push(s);
  const swapped: number[] = [];
  const follower = new AliasFollower(store, ws, s, 'credit', 'challenger', challenger, {
    arm: 'challenger',
    intervalMs: 3_600_000,
    onSwap: (v) => swapped.push(v),
  });
  try {
    await registry.setAlias('credit', 'challenger', 3, 'test');
    await follower.check();
    assert.equal(s.challenger?.model.registered?.version, 2, 'version 3 does not load: version 2 keeps serving');
    assert.equal((await invoke(s.url, [rowOf(1)])).headers.get('x-cairn-version'), '2');
    await registry.setAlias('credit', 'challenger', 4, 'test');
    await follower.check();
    assert.deepEqual(swapped, [4]);
    assert.equal(s.challenger?.model.registered?.version, 4);
    assert.equal(s.model.registered?.version, 1, 'the champion is untouched');
    const r = await invoke(s.url, [rowOf(1)]);
    assert.deepEqual(
      [r.arms, r.headers.get('x-cairn-version')],
      [['champion'], '4'],
      'split 1: every row to the challenger, now version 4 = MODEL_A',
    );
    assert.ok(!existsSync(challenger.file), 'the replaced copy is removed');
  } finally {
    await follower.stop();
    await champion.remove();
    await store.close();
  }
});
