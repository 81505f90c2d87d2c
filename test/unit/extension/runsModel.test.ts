import { slurmJobsOf, slurmStatesOf } from '@cairn/protocol/config.js';
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '@cairn/protocol';
import { describeView, foldSweeps, parseConditions, RunsModel } from '../../../extension/src/views/runsModel.js';

function run(id: number, over: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    pipeline: 'rec',
    pipelineFile: 'cairn.yaml',
    status: 'succeeded',
    startedAt: id * 1000,
    endedAt: id * 1000 + 500,
    durationMs: 500,
    gitCommit: null,
    gitDirty: null,
    backend: null,
    platform: 'linux',
    cairnVersion: '0.1.0',
    params: { lr: 0.01 },
    metrics: { rmse: 1 },
    tags: {},
    error: null,
    ...over,
  };
}

test('pages append after their cursor, a reload replaces, and the cursor and count drive "Load more"', () => {
  const m = new RunsModel();
  m.addPipelines(['rec', 'churn']);
  assert.deepEqual(m.pipelines(), ['churn', 'rec']);
  assert.equal(m.nextCursor('rec'), undefined, 'not loaded: the first page');
  m.acceptPage('rec', { runs: [run(10_000), run(9999)], total: 10_000, next: { key: 9_999_000, id: 9999 } });
  assert.equal(m.remaining('rec'), 9998);
  assert.deepEqual(m.nextCursor('rec'), { key: 9_999_000, id: 9999 });
  m.acceptPage('rec', { runs: [run(9998), run(9999)], total: 10_000, next: null }, { key: 9_999_000, id: 9999 });
  assert.deepEqual(
    m.group('rec')?.runs.map((r) => r.id),
    [10_000, 9999, 9998],
    'a run already shown is not shown twice',
  );
  assert.equal(m.remaining('rec'), 0, 'the last page: nothing more to load');
  assert.equal(m.nextCursor('rec'), undefined);
  m.acceptPage('rec', { runs: [run(10_001)], total: 10_001, next: { key: 10_001_000, id: 10_001 } });
  assert.deepEqual(
    m.group('rec')?.runs.map((r) => r.id),
    [10_001],
  );
  assert.equal(m.run(9999), undefined, 'runs of the replaced pages are forgotten');
  m.invalidate();
  assert.equal(m.nextCursor('rec'), undefined, 'a new filter or sort starts from the first page');
});

test('a page query carries the filter and the sort', () => {
  const m = new RunsModel();
  m.view = {
    statuses: ['failed'],
    params: [{ key: 'lr', op: '=', value: 0.01 }],
    metrics: [],
    sort: { by: 'metric:rmse', order: 'asc' },
  };
  assert.deepEqual(m.pageQuery('rec', { key: 0.5, id: 7 }), {
    filter: { pipeline: 'rec', status: ['failed'], params: [{ key: 'lr', op: '=', value: 0.01 }] },
    sort: { by: 'metric:rmse', order: 'asc' },
    limit: 100,
    after: { key: 0.5, id: 7 },
  });
  assert.equal(m.pageQuery('rec').after, undefined);
});

test('progress updates one loaded run; an unknown run asks to be fetched and lands on top', () => {
  const m = new RunsModel();
  m.acceptPage('rec', { runs: [run(2), run(1)], total: 2, next: null });
  const running = m.applyProgress({ runId: 2, pipeline: 'rec', status: 'running' });
  assert.equal(running.kind, 'run');
  assert.equal(m.run(2)?.status, 'running');
  const done = m.applyProgress({ runId: 2, pipeline: 'rec', status: 'failed', durationMs: 900, message: 'exit 1' });
  assert.deepEqual(done.kind === 'run' && { finished: done.finished, error: done.run.error, d: done.run.durationMs }, {
    finished: true,
    error: 'exit 1',
    d: 900,
  });
  assert.deepEqual(m.applyProgress({ runId: 2, pipeline: 'rec', step: 'train', status: 'running' }), { kind: 'none' });
  // A Slurm step's job and state land on the row's tags at once (the stored run is not fetched again for it).
  const queued = m.applyProgress({
    runId: 2,
    pipeline: 'rec',
    step: 'train',
    status: 'pending',
    slurm: { job: '41', state: 'PENDING' },
  });
  assert.equal(queued.kind, 'run');
  m.applyProgress({
    runId: 2,
    pipeline: 'rec',
    step: 'train',
    status: 'running',
    slurm: { job: '41', state: 'RUNNING' },
  });
  assert.deepEqual(slurmJobsOf(m.run(2)?.tags), { train: '41' });
  assert.deepEqual(slurmStatesOf(m.run(2)?.tags), { train: 'RUNNING' });
  assert.deepEqual(m.applyProgress({ runId: 3, pipeline: 'rec', step: 'train', status: 'running' }), {
    kind: 'unknown',
    runId: 3,
    pipeline: 'rec',
  });
  assert.equal(m.upsertRun(run(3, { status: 'running' })), 'inserted');
  assert.deepEqual(
    m.group('rec')?.runs.map((r) => r.id),
    [3, 2, 1],
  );
  assert.equal(m.group('rec')?.total, 3);
  assert.equal(m.upsertRun(run(3, { status: 'succeeded', metrics: { rmse: 0.5 } })), 'updated');
  assert.equal(m.run(3)?.metrics['rmse'], 0.5);
});

test('live metrics update the loaded run only', () => {
  const m = new RunsModel();
  m.acceptPage('rec', { runs: [run(1)], total: 1, next: null });
  assert.equal(
    m.applyMetric({ runId: 1, stepName: 'train', key: 'loss', value: 0.25, step: 3, time: 0 })?.metrics['loss'],
    0.25,
  );
  assert.equal(m.run(1)?.metrics['rmse'], 1);
  assert.equal(m.applyMetric({ runId: 7, stepName: 'train', key: 'loss', value: 0.25, step: 3, time: 0 }), undefined);
});

test('new runs respect the filter and other sorts only count them', () => {
  const m = new RunsModel();
  m.view = { ...m.view, statuses: ['failed'] };
  m.acceptPage('rec', { runs: [], total: 0, next: null });
  assert.equal(m.upsertRun(run(5)), 'filtered');
  m.view = {
    statuses: undefined,
    params: [],
    metrics: [{ key: 'rmse', op: '<', value: 2 }],
    sort: { by: 'metric:rmse', order: 'asc' },
  };
  assert.equal(m.upsertRun(run(6)), 'counted');
  assert.equal(m.group('rec')?.total, 1);
  assert.equal(m.upsertRun(run(7, { metrics: { rmse: 3 } })), 'filtered');
});

test("mine: only this user's runs are asked for and taken from notifications", () => {
  const m = new RunsModel();
  m.view = { ...m.view, user: 'ana@example.com' };
  assert.equal(m.pageQuery('rec').filter?.user, 'ana@example.com');
  assert.match(describeView(m.view), /^mine \(ana@example\.com\)/);
  m.acceptPage('rec', { runs: [], total: 0, next: null });
  assert.equal(m.upsertRun(run(8, { user: 'bob@example.com' })), 'filtered');
  assert.equal(m.upsertRun(run(9, { user: 'ana@example.com' })), 'inserted');
  m.view = { ...m.view, user: undefined };
  assert.equal(m.pageQuery('rec').filter?.user, undefined);
});

test('delete removes the run and counts it out', () => {
  const m = new RunsModel();
  m.acceptPage('rec', { runs: [run(2), run(1)], total: 2, next: null });
  assert.equal(m.removeRun(1), 'rec');
  assert.deepEqual(
    m.group('rec')?.runs.map((r) => r.id),
    [2],
  );
  assert.equal(m.group('rec')?.total, 1);
  assert.equal(m.removeRun(99), undefined);
});

test('filter conditions parse, with clear errors', () => {
  assert.deepEqual(parseConditions('metric:rmse<0.9, param:lr=0.01, f1 >= 0.5, param:opt=adam, param:shuffle=true'), {
    ok: true,
    params: [
      { key: 'lr', op: '=', value: 0.01 },
      { key: 'opt', op: '=', value: 'adam' },
      { key: 'shuffle', op: '=', value: true },
    ],
    metrics: [
      { key: 'rmse', op: '<', value: 0.9 },
      { key: 'f1', op: '>=', value: 0.5 },
    ],
  });
  assert.deepEqual(parseConditions(''), { ok: true, params: [], metrics: [] });
  const bad = parseConditions('rmse');
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /"rmse" is not a condition/);
  assert.equal(
    describeView({
      statuses: ['failed'],
      params: [],
      metrics: [{ key: 'f1', op: '>', value: 0.5 }],
      sort: { by: 'durationMs', order: 'desc' },
    }),
    'status failed, metric:f1>0.5, sorted by durationMs desc',
  );
});

test('10,000 runs: a page and 10,000 progress events update rows in place', () => {
  const m = new RunsModel();
  const page = Array.from({ length: 100 }, (_, i) => run(10_000 - i));
  m.acceptPage('rec', { runs: page, total: 10_000, next: { key: 1, id: 1 } });
  for (let i = 0; i < 10_000; i++) m.applyProgress({ runId: 10_000 - (i % 100), pipeline: 'rec', status: 'running' });
  assert.equal(m.remaining('rec'), 9900);
});

test("a sweep's runs fold into one node where its newest run is; other runs stay in order", () => {
  const runs = [run(9, { sweepId: 2 }), run(8), run(7, { sweepId: 2 }), run(6, { sweepId: 1 }), run(5, { sweepId: 2 })];
  assert.deepEqual(foldSweeps(runs), [{ sweepId: 2, runIds: [9, 7, 5] }, { runId: 8 }, { sweepId: 1, runIds: [6] }]);
  assert.deepEqual(foldSweeps([run(3), run(2, { sweepId: null })]), [{ runId: 3 }, { runId: 2 }]);
});

test('a Slurm job event that came before its run was read shows once the run arrives', () => {
  const m = new RunsModel();
  m.acceptPage('rec', { runs: [run(1)], total: 1, next: null });
  m.applyProgress({
    runId: 4,
    pipeline: 'rec',
    step: 'train',
    status: 'pending',
    slurm: { job: '43', state: 'PENDING' },
  });
  assert.equal(m.upsertRun(run(4, { status: 'running' })), 'inserted');
  assert.deepEqual(slurmJobsOf(m.run(4)?.tags), { train: '43' });
  // What the store had when the run was read wins over an older event.
  m.applyProgress({
    runId: 5,
    pipeline: 'rec',
    step: 'train',
    status: 'pending',
    slurm: { job: '44', state: 'PENDING' },
  });
  const stored = { 'cairn.slurm_jobs': '{"train":"44"}', 'cairn.slurm_states': '{"train":"RUNNING"}' };
  m.upsertRun(run(5, { status: 'running', tags: stored }));
  assert.deepEqual(slurmStatesOf(m.run(5)?.tags), { train: 'RUNNING' });
});
