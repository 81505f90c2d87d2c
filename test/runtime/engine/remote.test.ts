import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FsRemote } from '../../../runtime/src/cas/remote/fsRemote.js';
import { remoteHitTag } from '../../../runtime/src/cas/remote/stepCache.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { Store } from '../../../runtime/src/store/store.js';
import { postgresCluster } from '../../lib/postgres.js';
import { sha256File } from '../../../runtime/src/util/hash.js';
import { buildCli, runCli } from './cli.js';
import { commandStep, EventLog, pipelineOf, tempWorkspace } from './helpers.js';

/**
 * Two (or more) workspaces, clones of one pipeline, sharing one remote folder: what one ran is a cache hit for the
 * others, restored byte-identical from the remote; corrupt objects are refused; interrupted and concurrent pushes
 * leave only whole objects.
 */
describe('shared artifact remote', () => {
  const made: Array<{ cleanup: () => void }> = [];
  const engines: Engine[] = [];
  let remoteDir: string;
  let cli: string;

  const tempDir = (prefix: string) => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
    made.push({ cleanup: () => rmSync(dir, { recursive: true, force: true }) });
    return dir;
  };
  /** A clone: the same input and pipeline in a fresh folder. */
  const clone = () => {
    const ws = tempWorkspace('cairn-remote-ws-');
    made.push(ws);
    writeFileSync(path.join(ws.dir, 'input.csv'), 'a,b\n1,2\n3,4\n');
    return ws.dir;
  };
  const pipeline = (root: string) =>
    pipelineOf(root, [
      commandStep('prep', 'echo prep >> ran.log; tr a-z A-Z < input.csv > prepared.csv', {
        deps: ['input.csv'],
        outs: { data: 'prepared.csv' },
      }),
      commandStep(
        'train',
        'echo train >> ran.log; mkdir -p model/sub && cp prepared.csv model/w.csv && echo 7 > model/sub/n.txt',
        {
          needs: ['prep'],
          deps: ['prepared.csv'],
          outs: { model: 'model' },
        },
      ),
      commandStep(
        'report',
        // A metric with a history (three points on stdout) besides the metrics file's last value.
        'echo report >> ran.log; ls -R model > report.txt; echo \'{"acc": 0.75}\' > m.json; ' +
          'for i in 1 2 3; do echo "::cairn-metric loss=0.$i step=$i"; done',
        {
          needs: ['train'],
          deps: ['model'],
          outs: { r: 'report.txt' },
          metrics: ['m.json'],
        },
      ),
    ]);
  const engineFor = (dir: string, remote?: string) => {
    const e = new Engine(dir, { parallelism: 2, ...(remote === undefined ? {} : { remote }) });
    engines.push(e);
    return e;
  };
  const ran = (dir: string) => {
    const file = path.join(dir, 'ran.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  };
  const outputs = ['prepared.csv', 'model/w.csv', 'model/sub/n.txt', 'report.txt', 'm.json'];
  /** Every object in a remote folder hashes to its name (nothing half-written is visible). */
  const assertWhole = async (dir: string) => {
    const remote = new FsRemote(dir, dir);
    for (const hash of await remote.listObjects()) {
      assert.equal(await sha256File(path.join(dir, 'objects', hash.slice(0, 2), hash.slice(2))), hash);
    }
  };

  let a: string;
  before(async () => {
    remoteDir = tempDir('cairn-remote-');
    cli = await buildCli();
    a = clone();
    const first = await engineFor(a, remoteDir).run(pipeline(a));
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
    assert.deepEqual(ran(a), ['prep', 'train', 'report']);
  });
  after(async () => {
    for (const e of engines) await e.close();
    for (const m of made) m.cleanup();
  });

  test("a teammate's workspace runs nothing: every step is a cache hit from the remote, outputs byte-identical", async () => {
    assert.equal(
      (await new FsRemote(remoteDir, remoteDir).listEntries()).length,
      3,
      'each step that ran pushed its entry',
    );
    const b = clone();
    const engine = engineFor(b, `file://${remoteDir}`);
    const log = new EventLog();
    const run = await engine.run(pipeline(b), {}, log.listener);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
    assert.deepEqual(ran(b), [], 'no step ran in B');
    for (const s of ['prep', 'train', 'report']) assert.equal(run.steps[s]?.cacheHit, true, s);
    for (const f of outputs) assert.deepEqual(readFileSync(path.join(b, f)), readFileSync(path.join(a, f)), f);
    assert.ok(log.logLines('train').some((l) => l.startsWith(`restored from remote file://${remoteDir}`)));
    const detail = await engine.store.runs.detail(run.runId);
    assert.equal(detail?.tags[remoteHitTag('train')], `file://${remoteDir}`);
    assert.equal(detail?.metrics.acc, 0.75, 'the step metrics travel with the entry');
    const points = async (e: Engine | undefined, runId: number) =>
      (await e?.store.metrics.history(runId, 'loss'))?.points.map((p) => [p.step, p.value]);
    assert.deepEqual(await points(engine, run.runId), await points(engines[0], 1), 'with their whole history');
    assert.deepEqual(await points(engine, run.runId), [
      [1, 0.1],
      [2, 0.2],
      [3, 0.3],
    ]);
    assert.deepEqual(
      detail?.steps.map((st) => st.cacheSource),
      ['remote', 'remote', 'remote'],
      'each hit says it came from the remote',
    );
    // Lineage as for a run here: the outputs are recorded on B's step runs, with A's hashes.
    const hashes = (d: Awaited<ReturnType<Engine['store']['runs']['detail']>>) =>
      d?.steps.map((st) => st.outputs.map((o) => `${o.name}=${o.hash}`));
    assert.deepEqual(hashes(detail), hashes(await engines[0]?.store.runs.detail(1)));
    assert.deepEqual(
      detail?.steps.map((st) => st.outputs.map((o) => o.name)),
      [['data'], ['model'], ['metrics:m.json', 'r']],
    );
    // Now local: the next run hits the local cache, even with no remote configured.
    const again = await engineFor(b).run(pipeline(b));
    assert.deepEqual(
      Object.values(again.steps).map((s) => s.cacheHit),
      [true, true, true],
    );
    assert.deepEqual(
      (await engine.store.runs.detail(again.runId))?.steps.map((st) => st.cacheSource),
      ['local', 'local', 'local'],
    );
    assert.deepEqual(
      (await engines[0]?.store.runs.detail(1))?.steps.map((st) => st.cacheSource),
      ['none', 'none', 'none'],
      'steps that ran are no hit',
    );
    assert.deepEqual(ran(b), []);
  });

  test("one shared PostgreSQL store and one remote: a teammate's entry without local objects is looked up in the remote, never dropped as unusable", async () => {
    const url = await (await postgresCluster()).createDatabase('team');
    const onShared = async (dir: string, remote?: string) => {
      const e = new Engine(dir, { parallelism: 2, store: await Store.postgres(url), ...(remote ? { remote } : {}) });
      engines.push(e);
      return e;
    };
    const alice = clone();
    const first = await (await onShared(alice, remoteDir)).run(pipeline(alice));
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
    // Bob's workspace has none of the objects the shared store's entries name: the remote has them.
    const bob = clone();
    const log = new EventLog();
    const run = await (await onShared(bob, remoteDir)).run(pipeline(bob), {}, log.listener);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
    assert.deepEqual(ran(bob), [], 'every step restored, none ran');
    const lines = ['prep', 'train', 'report'].flatMap((st) => log.logLines(st));
    assert.equal(lines.filter((l) => l.includes('unusable')).length, 0, lines.join('\n'));
    assert.ok(
      log
        .logLines('train')
        .some((l) => /is in the store, its object \w+ not in this workspace: looking in the shared remote/.test(l)),
      log.logLines('train').join('\n'),
    );
    assert.ok(log.logLines('train').some((l) => l.startsWith(`restored from remote`)));
    // Carol, on the shared store without the remote: her steps run, and no entry is called unusable or dropped.
    const carol = clone();
    const carolLog = new EventLog();
    const hers = await (await onShared(carol)).run(pipeline(carol), {}, carolLog.listener);
    assert.equal(hers.status, 'succeeded', JSON.stringify(hers.steps));
    assert.deepEqual(ran(carol), ['prep', 'train', 'report']);
    assert.ok(carolLog.logLines('prep').some((l) => /not in this workspace: running the step/.test(l)));
    assert.ok(!carolLog.logLines('prep').some((l) => l.includes('unusable')));
  });

  test('a corrupt object on the remote is detected and not used: the step runs, with a warning, and the push repairs it', async () => {
    const remote = new FsRemote(remoteDir, remoteDir);
    const prepEntry = (await Promise.all((await remote.listEntries()).map((k) => remote.getEntry(k)))).find(
      (e) => e?.step === 'prep',
    );
    const hash = prepEntry?.outputs.data?.hash ?? '';
    const file = path.join(remoteDir, 'objects', hash.slice(0, 2), hash.slice(2));
    chmodSync(file, 0o644);
    writeFileSync(file, 'A,B\n9,9\n');
    const c = clone();
    const log = new EventLog();
    const run = await engineFor(c, remoteDir).run(pipeline(c), {}, log.listener);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
    assert.deepEqual(ran(c), ['prep'], 'prep re-ran; its output is the same, so train and report hit');
    assert.equal(run.steps.prep?.cacheHit, false);
    assert.equal(readFileSync(path.join(c, 'prepared.csv'), 'utf8'), 'A,B\n1,2\n3,4\n');
    const warning = log.logLines('prep').find((l) => l.startsWith('WARNING remote cache entry'));
    assert.match(warning ?? '', new RegExp(`object ${hash.slice(0, 12)} on the remote .* is corrupt`));
    assert.equal(readdirSync(path.join(remoteDir, 'corrupt')).length, 1, 'the bad object was moved aside');
    assert.equal(await sha256File(file), hash, "C's push put the good object back");
  });

  test('a push killed midway leaves no half object and no entry without its objects; pushing again completes', async () => {
    const r2 = tempDir('cairn-remote2-');
    const killed = await runCli(cli, ['push', '--all', '--remote', r2, '--workspace', a], a, {
      CAIRN_REMOTE_KILL_AFTER: '3',
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    await assertWhole(r2);
    const remote = new FsRemote(r2, r2);
    const objects = new Set(await remote.listObjects());
    const entries = await remote.listEntries();
    assert.equal(objects.size + entries.length, 2, 'two uploads landed before the kill, the third did not');
    for (const key of entries) {
      for (const o of Object.values((await remote.getEntry(key))?.outputs ?? {}))
        assert.ok(objects.has(o.hash), 'no entry before its objects');
    }
    assert.equal(readdirSync(path.join(r2, 'tmp')).length, 1, 'the interrupted upload is only a temp file');

    const resumed = await runCli(cli, ['push', '--all', '--remote', r2, '--format', 'json'], a);
    assert.equal(resumed.code, 0, resumed.stderr);
    const counts = JSON.parse(resumed.stdout) as { moved: number; present: number; entries: number };
    assert.equal(counts.entries, 3);
    const total = (await remote.listObjects()).length;
    assert.equal(counts.moved, total - objects.size, 'only what was missing is transferred');
    assert.deepEqual(readdirSync(path.join(r2, 'tmp')), [], "the dead writer's temp file was cleaned");
    await assertWhole(r2);
    const idempotent = JSON.parse(
      (await runCli(cli, ['push', '--all', '--remote', r2, '--format', 'json'], a)).stdout,
    ) as { moved: number };
    assert.equal(idempotent.moved, 0);

    // pull fills a fresh clone's .cairn/ only; its run is all hits without reaching the remote again.
    const d = clone();
    const pulled = await runCli(cli, ['pull', '--all', '--remote', r2, '--format', 'json'], d);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal((JSON.parse(pulled.stdout) as { entries: number }).entries, 3);
    assert.deepEqual(readdirSync(d).sort(), ['.cairn', 'input.csv'], 'pull wrote nothing outside .cairn');
    rmSync(r2, { recursive: true, force: true });
    const run = await engineFor(d, r2).run(pipeline(d));
    assert.deepEqual(
      Object.values(run.steps).map((s) => s.cacheHit),
      [true, true, true],
    );
    assert.deepEqual(ran(d), []);
  });

  test('two processes pushing the same objects at once both succeed and leave whole objects', async () => {
    const r3 = tempDir('cairn-remote3-');
    const [x, y] = await Promise.all([
      runCli(cli, ['push', '--all', '--remote', r3], a),
      runCli(cli, ['push', '--all', '--remote', r3], a),
    ]);
    assert.equal(x.code, 0, x.stderr);
    assert.equal(y.code, 0, y.stderr);
    await assertWhole(r3);
    const remote = new FsRemote(r3, r3);
    assert.equal((await remote.listEntries()).length, 3);
    assert.deepEqual(readdirSync(path.join(r3, 'tmp')), []);
  });

  test('a cache entry on the remote that does not parse is no hit: the step runs, warns, and pushes a good one', async () => {
    const r4 = tempDir('cairn-remote4-');
    const key = (await engines[0]?.store.runs.detail(1))?.steps[0]?.cacheKey ?? '';
    mkdirSync(path.join(r4, 'entries'));
    writeFileSync(path.join(r4, 'entries', `${key}.json`), '{"format": "cairn-cache-entry/0"}');
    const e = clone();
    const log = new EventLog();
    const run = await engineFor(e, r4).run(pipeline(e), {}, log.listener);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
    assert.deepEqual(ran(e), ['prep', 'train', 'report']);
    assert.match(log.logLines('prep').join('\n'), /WARNING remote cache entry .* is invalid \(format: .*delete it/);
    const entry = await new FsRemote(r4, r4).getEntry(key);
    assert.equal(entry?.step, 'prep');
    assert.equal(entry?.host, os.hostname(), 'the entry names where it was run');
  });

  test(".cairn/config.yaml remote: with push: off runs push nothing; pull --run N fetches that run's entries", async () => {
    const r5 = tempDir('cairn-remote5-');
    const f = clone();
    mkdirSync(path.join(f, '.cairn'), { recursive: true });
    writeFileSync(path.join(f, '.cairn', 'config.yaml'), `remote:\n  url: file://${r5}\n  push: off\n`);
    const run = await engineFor(f).run(pipeline(f));
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(await new FsRemote(r5, r5).listEntries(), [], 'push: off');
    const pushed = await runCli(cli, ['push', '--run', String(run.runId), '--format', 'json'], f);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((JSON.parse(pushed.stdout) as { entries: number }).entries, 3);
    const pulled = await runCli(cli, ['pull', '--run', String(run.runId), '--format', 'json'], f);
    assert.equal(pulled.code, 0, pulled.stderr);
    const counts = JSON.parse(pulled.stdout) as { entries: number; moved: number };
    assert.deepEqual([counts.entries, counts.moved], [3, 0], 'entries fetched; every object was local already');
    assert.ok(existsSync(path.join(f, '.cairn', 'remote-entries')));
  });

  test('push and pull say what to do without a remote, for an unknown run, and for both --run and --all', async () => {
    const g = clone();
    const none = await runCli(cli, ['push'], g);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /no remote configured: give --remote DIR, set CAIRN_REMOTE, or remote.url in .cairn\/config.yaml/,
    );
    const unknown = await runCli(cli, ['pull', '--run', '99', '--remote', remoteDir], g);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /run 99 does not exist in this workspace's store/);
    const both = await runCli(cli, ['push', '--run', '1', '--all', '--remote', remoteDir], g);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --run N or --all, not both/);
  });

  test('a remote URL of another kind is refused with what to use', async () => {
    const e = engineFor(clone(), 's3://bucket/cairn');
    await assert.rejects(e.run(pipeline(a)), /only filesystem remotes are supported/);
  });
});
