import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunEvent } from '@cairn/protocol';
import { slurmStatesOf } from '@cairn/protocol/config.js';
import { FsRemote } from '../../../runtime/src/cas/remote/fsRemote.js';
import { remoteHitTag } from '../../../runtime/src/cas/remote/stepCache.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../../runtime/src/executor/loadPipeline.js';
import { SlurmError, slurmJobsTag, startSlurmRun, type SlurmSettings } from '../../../runtime/src/executor/slurm.js';
import { runSweep } from '../../../runtime/src/sweep/sweep.js';
import { buildCli, cliEnv, runCli, stepRunnerOf } from '../engine/cli.js';
import { EventLog, tempWorkspace } from '../engine/helpers.js';
import { startSlurm, type SlurmCluster } from '../../lib/slurm.js';

const pipelineYaml = `version: 1
name: chain
params:
  factor: 2
steps:
  prepare:
    run: awk '{ print $1 * \${params.factor} }' data.txt > prepared.txt
    deps: [data.txt]
    outputs: { prepared: prepared.txt }
  train:
    run: |
      test -f fast || sleep 600
      awk '{ s += $1 } END { print s }' \${steps.prepare.outputs.prepared} > model.txt
      echo "::cairn-metric total=$(cat model.txt)"
    outputs: { model: model.txt }
    resources: { cpu: 1, memory: 64Mi }
  report:
    run: cat \${steps.train.outputs.model} > report.txt
    outputs: { report: report.txt }
`;

/**
 * A sweep over `scale`: `prepare` does not use it (shared by every combination), `train` and `report` do; `train` waits
 * while `slow` exists (a cancel test's window).
 */
const sweepYaml = `version: 1
name: sweepchain
params:
  scale: 1
steps:
  prepare:
    run: awk '{ print $1 * 2 }' data.txt > prepared.txt
    deps: [data.txt]
    outputs: { prepared: prepared.txt }
  train:
    run: |
      while test -f slow; do sleep 0.2; done
      awk '{ s += $1 * \${params.scale} } END { print s }' \${steps.prepare.outputs.prepared} > model.txt
      echo "::cairn-metric total=$(cat model.txt)"
    outputs: { model: model.txt }
  report:
    run: cat \${steps.train.outputs.model} > report.txt
    outputs: { report: report.txt }
`;

function workspace(fast: boolean): ReturnType<typeof tempWorkspace> {
  const ws = tempWorkspace('cairn-slurm-ws-');
  writeFileSync(path.join(ws.dir, 'data.txt'), '1\n2\n3\n');
  writeFileSync(path.join(ws.dir, 'cairn.yaml'), pipelineYaml);
  if (fast) writeFileSync(path.join(ws.dir, 'fast'), '');
  return ws;
}

function pipelineIn(dir: string) {
  const loaded = loadPipeline('cairn.yaml', { cwd: dir, workspace: dir });
  assert.ok(loaded.ok, JSON.stringify(loaded));
  return loaded.pipeline;
}

/** Cache keys and lineage (inputs/outputs with hashes) of a run, by step. */
/** Polls a cluster fact (Slurm has no event to wait on) until it holds; fails after 3 minutes. */
async function until(condition: () => boolean): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 180_000) throw new Error('Slurm condition not met in 3 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function records(engine: Engine, runId: number) {
  const detail = await engine.store.runs.detail(runId);
  assert.ok(detail);
  const rows = await engine.store.runs.steps(runId);
  const out: Record<string, unknown> = {};
  for (const s of detail.steps) {
    const id = rows.find((r) => r.step === s.step)?.id ?? -1;
    const io = (await engine.store.artifacts.stepIo(id)).map((x) => JSON.stringify(x)).sort();
    out[s.step] = { key: s.cacheKey, status: s.status, io };
  }
  return out;
}

// Slurm notices a time limit only at its periodic check (every 30 s, fixed in slurmctld), so the time-limit test
// runs on a cluster of its own, side by side with the others (which take the node down on theirs).
describe('Slurm executor on a real single-node cluster', { concurrency: true, timeout: 600_000 }, () => {
  let cluster: SlurmCluster;
  let timeCluster: SlurmCluster;
  let settings: SlurmSettings;
  let timeSettings: SlurmSettings;
  let cli: string;
  before(async () => {
    const [c, t, built] = await Promise.all([startSlurm(), startSlurm(), buildCli()]);
    cluster = c;
    timeCluster = t;
    cli = built;
    settings = { cairn: stepRunnerOf(cli), env: { ...cliEnv(), SLURM_CONF: cluster.conf }, pollMs: 100 };
    timeSettings = { ...settings, env: { ...cliEnv(), SLURM_CONF: timeCluster.conf } };
  });
  after(async () => {
    await cluster?.stop();
    await timeCluster?.stop();
  });

  /** Runs with `train` sleeping until `fault` happens to its job; the step must fail with Slurm's state, then resume. */
  async function faultRun(
    fault: (jobId: string) => void | Promise<void>,
    expected: RegExp,
    on: SlurmSettings = settings,
  ): Promise<void> {
    const ws = workspace(false);
    const engine = new Engine(ws.dir);
    try {
      await engine.store.ready;
      const events = new EventLog();
      const opts = { store: engine.store, objects: engine.objects, workspace: ws.dir, onEvent: events.listener };
      const handle = await startSlurmRun(pipelineIn(ws.dir), opts, on);
      await events.waitFor((e) => e.type === 'progress' && e.step === 'train' && e.status === 'running');
      const jobs = JSON.parse((await engine.store.runs.tag(handle.runId, slurmJobsTag)) ?? '{}') as Record<
        string,
        string
      >;
      await fault(jobs.train ?? '');
      const outcome = await handle.done;
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.steps.train?.status, 'failed');
      assert.match(outcome.steps.train?.error ?? '', expected);
      assert.equal(outcome.steps.report?.status, 'cancelled');
      const stored = await engine.store.runs.detail(handle.runId);
      assert.equal(stored?.status, 'failed');
      assert.match(stored?.steps.find((st) => st.step === 'train')?.error ?? '', expected);
      writeFileSync(path.join(ws.dir, 'fast'), '');
      const { time: _limit, ...unlimited } = on;
      const resumed = await (await startSlurmRun(pipelineIn(ws.dir), opts, unlimited)).done;
      assert.equal(resumed.status, 'succeeded');
      assert.equal(resumed.steps.prepare?.cacheHit, true);
    } finally {
      await engine.close();
      ws.cleanup();
    }
  }

  test('a job past its time limit fails with TIMEOUT and the run resumes from cache', async () => {
    await faultRun(() => undefined, /Slurm job \d+ ended TIMEOUT/, { ...timeSettings, time: '0:01' });
  });

  describe('on the shared cluster, one at a time', { concurrency: 1 }, () => {
    test('same cache keys and lineage as the local executor; job ids recorded; a re-run is all cache hits', async () => {
      const local = workspace(true);
      const remote = workspace(true);
      const a = new Engine(local.dir);
      const b = new Engine(remote.dir);
      try {
        const localRun = await a.run(pipelineIn(local.dir));
        assert.equal(localRun.status, 'succeeded');
        await b.store.ready;
        const events = new EventLog();
        const opts = { store: b.store, objects: b.objects, workspace: remote.dir, onEvent: events.listener };
        const handle = await startSlurmRun(pipelineIn(remote.dir), opts, settings);
        const outcome = await handle.done;
        assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
        const strip = (r: Record<string, unknown>) =>
          JSON.parse(JSON.stringify(r).replaceAll(`"runId":${outcome.runId}`, '')) as unknown;
        const mine = await records(b, outcome.runId);
        const theirs = await records(a, localRun.runId);
        assert.deepEqual(strip(mine), JSON.parse(JSON.stringify(theirs).replaceAll(`"runId":${localRun.runId}`, '')));
        const jobs = JSON.parse((await b.store.runs.tag(outcome.runId, slurmJobsTag)) ?? '{}') as Record<
          string,
          string
        >;
        assert.deepEqual(Object.keys(jobs).sort(), ['prepare', 'report', 'train']);
        const dependency = cluster.client('scontrol', ['show', 'job', '-o', jobs.train ?? '']);
        assert.match(dependency, /JobState=COMPLETED/);
        assert.ok(
          events.events.some(
            (e: RunEvent) => e.type === 'progress' && e.step === 'train' && /queued: Slurm job/.test(e.message ?? ''),
          ),
        );
        assert.equal(
          (await b.store.runs.latestMetrics(outcome.runId))?.total,
          12,
          'metrics written by the job reach the run',
        );
        assert.ok(
          events.logLines('train').some((l) => l.includes('::cairn-metric total=12')),
          'the job log streams back',
        );
        const again = await (await startSlurmRun(pipelineIn(remote.dir), opts, settings)).done;
        assert.deepEqual(
          Object.values(again.steps).map((s) => s.cacheHit),
          [true, true, true],
        );
        assert.equal(
          await b.store.runs.tag(again.runId, slurmJobsTag),
          '{}',
          'cached steps are resolved before anything is submitted',
        );
      } finally {
        await a.close();
        await b.close();
        local.cleanup();
        remote.cleanup();
      }
    });

    test('while a run is in progress: job ids and Slurm states on the run and its events; metrics stream live', async () => {
      const ws = tempWorkspace('cairn-slurm-live-');
      writeFileSync(
        path.join(ws.dir, 'cairn.yaml'),
        `version: 1
name: live
steps:
  train:
    run: |
      echo "::cairn-metric loss=0.5"
      while [ ! -f go ]; do sleep 0.1; done
      echo "::cairn-metric loss=0.25"
    cache: false
  report:
    run: echo done
    cache: false
    needs: [train]
`,
      );
      const engine = new Engine(ws.dir);
      try {
        await engine.store.ready;
        const events = new EventLog();
        const opts = { store: engine.store, objects: engine.objects, workspace: ws.dir, onEvent: events.listener };
        const handle = await startSlurmRun(pipelineIn(ws.dir), opts, settings);
        // The first metric arrives while the job still runs (it waits for the file \`go\`): live, not at the end.
        await events.waitFor(
          (e) => e.type === 'metric' && e.stepName === 'train' && e.key === 'loss' && e.value === 0.5,
        );
        assert.equal((await engine.store.runs.latestMetrics(handle.runId))?.loss, 0.5, 'in the store as logged');
        const running = await events.waitFor(
          (e) => e.type === 'progress' && e.step === 'train' && e.slurm?.state === 'RUNNING',
        );
        const trainJob = running.type === 'progress' ? running.slurm?.job : undefined;
        assert.match(trainJob ?? '', /^\d+$/);
        assert.ok(
          events.events.some((e) => e.type === 'progress' && e.step === 'report' && e.slurm?.state === 'PENDING'),
          'the dependent job is seen PENDING',
        );
        const shown = await runCli(cli, ['runs', 'show', String(handle.runId)], ws.dir);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /SLURM JOB/);
        assert.match(shown.stdout, new RegExp(`train\\s+running\\s.*${trainJob} RUNNING`));
        assert.match(shown.stdout, /report\s+pending\s.*\d+ PENDING/);
        writeFileSync(path.join(ws.dir, 'go'), '');
        const outcome = await handle.done;
        assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
        assert.ok(events.events.some((e) => e.type === 'metric' && e.key === 'loss' && e.value === 0.25));
        const tags = (await engine.store.runs.detail(handle.runId))?.tags;
        assert.deepEqual(slurmStatesOf(tags), { train: 'COMPLETED', report: 'COMPLETED' });
      } finally {
        await engine.close();
        ws.cleanup();
      }
    });

    test('a job killed with scancel: step failed with Slurm reason, downstream cancelled, re-run resumes from cache', async () => {
      const ws = workspace(false);
      const engine = new Engine(ws.dir);
      try {
        await engine.store.ready;
        const events = new EventLog();
        const opts = { store: engine.store, objects: engine.objects, workspace: ws.dir, onEvent: events.listener };
        const handle = await startSlurmRun(pipelineIn(ws.dir), opts, settings);
        await events.waitFor((e) => e.type === 'progress' && e.step === 'train' && e.status === 'running');
        const jobs = JSON.parse((await engine.store.runs.tag(handle.runId, slurmJobsTag)) ?? '{}') as Record<
          string,
          string
        >;
        cluster.client('scancel', [jobs.train ?? '']);
        const outcome = await handle.done;
        assert.equal(outcome.status, 'failed');
        assert.equal(outcome.steps.train?.status, 'failed');
        assert.match(outcome.steps.train?.error ?? '', /Slurm job \d+ ended CANCELLED/);
        assert.equal(outcome.steps.report?.status, 'cancelled');
        assert.match(outcome.error ?? '', /step 'train' failed/);
        writeFileSync(path.join(ws.dir, 'fast'), '');
        const resumed = await (await startSlurmRun(pipelineIn(ws.dir), opts, settings)).done;
        assert.equal(resumed.status, 'succeeded');
        assert.equal(resumed.steps.prepare?.cacheHit, true);
        const resubmitted = JSON.parse((await engine.store.runs.tag(resumed.runId, slurmJobsTag)) ?? '{}') as Record<
          string,
          string
        >;
        assert.deepEqual(Object.keys(resubmitted).sort(), ['report', 'train']);
      } finally {
        await engine.close();
        ws.cleanup();
      }
    });

    test('a job lost with its node (scontrol ... state=down) fails with NODE_FAIL and the run resumes from cache', async () => {
      await faultRun(async (jobId) => {
        cluster.client('scontrol', ['update', `nodename=${cluster.node}`, 'state=down', 'reason=test']);
        // The node comes back only once its job has ended (else the job might run on); Slurm takes `resume` only
        // while it still holds the node down, so both are waited on as conditions.
        await until(
          () =>
            !/RUNNING|PENDING|CONFIGURING/.test(
              cluster.client('squeue', ['-h', '--states=all', '-j', jobId, '-o', '%T']),
            ),
        );
        await until(() => {
          if (!/down|drain|fail/i.test(cluster.client('sinfo', ['-h', '-n', cluster.node, '-o', '%T']))) return true;
          try {
            cluster.client('scontrol', ['update', `nodename=${cluster.node}`, 'state=resume']);
          } catch {
            // Not yet in a state Slurm resumes from: look again.
          }
          return false;
        });
      }, /Slurm job \d+ ended (NODE_FAIL|FAILED|CANCELLED)/);
    });

    test('cairn run --executor slurm runs the pipeline on the cluster', async () => {
      const ws = workspace(true);
      try {
        const env = { SLURM_CONF: cluster.conf };
        Object.assign(process.env, env);
        const r = await runCli(cli, ['run', 'cairn.yaml', '--executor', 'slurm', '--format', 'json'], ws.dir);
        assert.equal(r.code, 0, r.stderr);
        const outcome = JSON.parse(r.stdout) as { runId: number; status: string };
        assert.equal(outcome.status, 'succeeded');
        const shown = await runCli(cli, ['runs', 'show', String(outcome.runId), '--format', 'json'], ws.dir);
        const tags = (JSON.parse(shown.stdout) as { tags: Record<string, string> }).tags;
        assert.match(tags[slurmJobsTag] ?? '', /"train":"\d+"/);
      } finally {
        ws.cleanup();
      }
    });

    test('a sweep combination (filesRoot) runs in its own folder; jobs push to the remote; a teammate hits it', async () => {
      const ws = workspace(true);
      const teammate = workspace(true);
      const remoteDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-slurm-remote-'));
      const copy = path.join(ws.dir, '.cairn', 'tmp', 'combination-0');
      mkdirSync(copy, { recursive: true });
      for (const f of ['cairn.yaml', 'data.txt', 'fast']) cpSync(path.join(ws.dir, f), path.join(copy, f));
      const engine = new Engine(ws.dir);
      const other = new Engine(teammate.dir);
      try {
        await engine.store.ready;
        await other.store.ready;
        const remote = { remote: new FsRemote(remoteDir, remoteDir), autoPush: true };
        const opts = { store: engine.store, objects: engine.objects, workspace: ws.dir, filesRoot: copy, remote };
        const outcome = await (await startSlurmRun(pipelineIn(ws.dir), opts, settings)).done;
        assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
        assert.equal(readFileSync(path.join(copy, 'report.txt'), 'utf8'), '12\n');
        for (const f of ['prepared.txt', 'model.txt', 'report.txt'])
          assert.ok(!existsSync(path.join(ws.dir, f)), `${f} not shared`);
        const entries = await new FsRemote(remoteDir, remoteDir).listEntries();
        assert.equal(entries.length, 3, 'each job pushed its step to the remote');
        const theirs = { store: other.store, objects: other.objects, workspace: teammate.dir, remote };
        const hit = await (await startSlurmRun(pipelineIn(teammate.dir), theirs, settings)).done;
        assert.deepEqual(
          Object.values(hit.steps).map((st) => st.cacheHit),
          [true, true, true],
        );
        assert.equal((await other.store.runs.detail(hit.runId))?.tags[remoteHitTag('train')], remoteDir);
        assert.equal(readFileSync(path.join(teammate.dir, 'report.txt'), 'utf8'), '12\n');
      } finally {
        await engine.close();
        await other.close();
        ws.cleanup();
        teammate.cleanup();
        rmSync(remoteDir, { recursive: true, force: true });
      }
    });

    /** Array job id → [job name, task ids] of what the controller knows (finished jobs stay MinJobAge). */
    const arrays = () => {
      const out = new Map<string, { name: string; tasks: string[] }>();
      for (const line of cluster.client('squeue', ['-h', '-r', '--states=all', '-o', '%F|%K|%j']).split('\n')) {
        const [array, task, name] = line.split('|');
        if (!array || !task || !name?.startsWith('cairn-sweep')) continue;
        const entry = out.get(array) ?? { name, tasks: [] };
        entry.tasks.push(task);
        out.set(array, entry);
      }
      return out;
    };

    test('a sweep is one job array per step; the shared step runs once; a re-run is all cache hits', async () => {
      const ws = tempWorkspace('cairn-slurm-sweep-');
      writeFileSync(path.join(ws.dir, 'data.txt'), '1\n2\n3\n');
      writeFileSync(path.join(ws.dir, 'cairn.yaml'), sweepYaml);
      const engine = new Engine(ws.dir, { executor: 'slurm', slurm: settings });
      try {
        const before = new Set(arrays().keys());
        const matrix = { params: { scale: [1, 2, 3] } };
        const sweep = await runSweep(engine, matrix, { file: 'cairn.yaml', cwd: ws.dir });
        assert.equal(sweep.status, 'succeeded', JSON.stringify(sweep));
        assert.deepEqual(
          sweep.combinations.map((c) => [c.params.scale, c.metrics.total]),
          [
            [1, 12],
            [2, 24],
            [3, 36],
          ],
        );
        const submitted = [...arrays()].filter(([id]) => !before.has(id));
        assert.deepEqual(
          submitted.map(([, a]) => [a.name, [...a.tasks].sort()]).sort(),
          ['prepare', 'report', 'train'].map((s) => [`cairn-sweep${sweep.sweepId}-${s}`, ['0', '1', '2']]),
          'ONE array job per step, a task per combination',
        );
        for (const [i, c] of sweep.combinations.entries()) {
          const jobs = JSON.parse((await engine.store.runs.tag(c.runId, slurmJobsTag)) ?? '{}') as Record<
            string,
            string
          >;
          for (const [step, job] of Object.entries(jobs)) {
            const array = submitted.find(([, a]) => a.name.endsWith(`-${step}`))?.[0];
            assert.equal(job, `${array}_${i}`, `run ${c.runId} records its array task for ${step}`);
          }
          assert.equal((await engine.store.runs.detail(c.runId))?.sweepId, sweep.sweepId);
        }
        const prepareRuns = await Promise.all(
          sweep.combinations.map(async (c) =>
            (await engine.store.runs.steps(c.runId)).find((r) => r.step === 'prepare'),
          ),
        );
        assert.deepEqual(
          prepareRuns.map((r) => r?.cacheHit).sort(),
          [false, true, true],
          'the shared step ran once, the others restored it',
        );
        const again = await runSweep(engine, matrix, { file: 'cairn.yaml', cwd: ws.dir });
        assert.equal(again.status, 'succeeded');
        for (const c of again.combinations) {
          assert.deepEqual(
            (await engine.store.runs.steps(c.runId)).map((r) => r.cacheHit),
            [true, true, true],
          );
        }
        assert.ok(
          [...arrays().values()].every((a) => !a.name.startsWith(`cairn-sweep${again.sweepId}-`)),
          'a re-run submits nothing',
        );
      } finally {
        await engine.close();
        ws.cleanup();
      }
    });

    test('cancelling a sweep on Slurm cancels its array tasks; every run ends cancelled', async () => {
      const ws = tempWorkspace('cairn-slurm-sweep-cancel-');
      writeFileSync(path.join(ws.dir, 'data.txt'), '1\n2\n3\n');
      writeFileSync(path.join(ws.dir, 'cairn.yaml'), sweepYaml);
      writeFileSync(path.join(ws.dir, 'slow'), '');
      const engine = new Engine(ws.dir, { executor: 'slurm', slurm: settings });
      try {
        // Sweep ids are per workspace store: the other sweep test's arrays carry the same names.
        const before = new Set(arrays().keys());
        const abort = new AbortController();
        const events = new EventLog();
        const sweep = runSweep(
          engine,
          { params: { scale: [4, 5] } },
          {
            file: 'cairn.yaml',
            cwd: ws.dir,
            signal: abort.signal,
            onEvent: events.listener,
          },
        );
        await events.waitFor((e) => e.type === 'progress' && e.step === 'train' && e.status === 'running');
        abort.abort();
        const outcome = await sweep;
        assert.equal(outcome.status, 'cancelled');
        assert.deepEqual(
          outcome.combinations.map((c) => c.status),
          ['cancelled', 'cancelled'],
        );
        const tasks = [...arrays()].filter(
          ([id, a]) => !before.has(id) && a.name === `cairn-sweep${outcome.sweepId}-train`,
        );
        assert.equal(tasks.length, 1, 'one train array');
        const id = tasks[0]?.[0] ?? '';
        await until(() =>
          cluster
            .client('squeue', ['-h', '-r', '--states=all', '-j', id, '-o', '%T'])
            .split('\n')
            .every((st) => st === 'CANCELLED'),
        );
      } finally {
        await engine.close();
        ws.cleanup();
      }
    });

    test('an unreachable controller is a clear error before any run is created', async () => {
      const ws = workspace(true);
      const engine = new Engine(ws.dir);
      try {
        await engine.store.ready;
        const conf = path.join(ws.dir, 'slurm.conf');
        writeFileSync(
          conf,
          'ClusterName=none\nSlurmctldHost=nowhere(127.0.0.1)\nSlurmctldPort=9\nAuthType=auth/none\n',
        );
        const opts = { store: engine.store, objects: engine.objects, workspace: ws.dir };
        await assert.rejects(
          startSlurmRun(pipelineIn(ws.dir), opts, { ...settings, env: { ...settings.env, SLURM_CONF: conf } }),
          (e: unknown) =>
            e instanceof SlurmError && /controller is unreachable.*nothing was submitted/s.test(e.message),
        );
        assert.equal((await engine.store.runs.list()).total, 0);
      } finally {
        await engine.close();
        ws.cleanup();
      }
    });
  });
});
