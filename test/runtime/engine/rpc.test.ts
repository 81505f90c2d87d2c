import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  CancelRunRequest,
  CompareRunsRequest,
  DeleteRunRequest,
  GetRunRequest,
  LineageRequest,
  ListRunsRequest,
  ListSweepsRequest,
  MetricHistoryRequest,
  RunLogNotification,
  RunMetricNotification,
  RunPageRequest,
  RunPipelineRequest,
  RunProgressNotification,
  RuntimeReadyNotification,
} from '@cairn/protocol';
import { buildCli, runCli, spawnCli } from './cli.js';
import { tempWorkspace } from './helpers.js';

/** The extension's view: `cairn runtime --stdio` as a child process, spoken to over JSON-RPC. */
describe('runtime over JSON-RPC (cairn runtime --stdio)', () => {
  let cli: string;
  let ws: ReturnType<typeof tempWorkspace>;
  let child: ReturnType<typeof spawnCli>;
  let connection: MessageConnection;
  let ready: RuntimeReadyNotification.Params;
  const progress: RunProgressNotification.Params[] = [];
  const logs: RunLogNotification.Params[] = [];
  const metrics: RunMetricNotification.Params[] = [];
  const finished = new Map<number, (p: RunProgressNotification.Params) => void>();
  const finishedEarly = new Map<number, RunProgressNotification.Params>();
  const runEnd = (runId: number) =>
    new Promise<RunProgressNotification.Params>((resolve) => {
      const seen = finishedEarly.get(runId);
      if (seen) resolve(seen);
      else finished.set(runId, resolve);
    });

  before(async () => {
    cli = await buildCli();
    ws = tempWorkspace('cairn-rpc-');
    writeFileSync(
      path.join(ws.dir, 'cairn.yaml'),
      `version: 1
name: rpc
params:
  n: 5
  api_key: { type: string, secret: true, default: "k3y-value-123" }
steps:
  make:
    run: |
      for i in $(seq 1 \${params.n}); do echo "::cairn-metric loss=$i step=$i"; done; echo "key \${params.api_key}"; echo \${params.n} > make.txt
    outputs: { out: make.txt }
  use:
    run: cat \${steps.make.outputs.out} > use.txt
    outputs: { out: use.txt }
`,
    );
    writeFileSync(
      path.join(ws.dir, 'slow.cairn.yaml'),
      `version: 1
name: slow
steps:
  wait:
    run: sleep 30
`,
    );
    for (let i = 0; i < 4; i++) {
      writeFileSync(
        path.join(ws.dir, `p${i}.cairn.yaml`),
        `version: 1
name: concurrent-${i}
steps:
${[0, 1, 2]
  .map(
    (s) => `  s${s}:
    run: |
      seq 1 500 | awk '{ printf "{\\"key\\": \\"m${s}\\", \\"value\\": %d, \\"step\\": %d}\\n", $1, $1 }' >> "$CAIRN_METRICS"; echo ${i}-${s} > out-${i}-${s}.txt
    outputs: { out: out-${i}-${s}.txt }
    cache: false
`,
  )
  .join('')}`,
      );
    }
    child = spawnCli(cli, ['runtime', '--stdio'], ws.dir);
    connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const gotReady = new Promise<RuntimeReadyNotification.Params>((resolve) =>
      connection.onNotification(RuntimeReadyNotification.type, resolve),
    );
    connection.onNotification(RunProgressNotification.type, (p) => {
      progress.push(p);
      if (p.step === undefined && p.status !== 'running') {
        const done = finished.get(p.runId);
        if (done) done(p);
        else finishedEarly.set(p.runId, p);
      }
    });
    connection.onNotification(RunLogNotification.type, (p) => {
      logs.push(p);
    });
    connection.onNotification(RunMetricNotification.type, (p) => {
      metrics.push(p);
    });
    connection.listen();
    ready = await gotReady;
  });

  after(async () => {
    connection.dispose();
    child.stdin?.end();
    await new Promise((resolve) => child.on('close', resolve));
    ws.cleanup();
  });

  test('says ready with its workspace, then runs a pipeline with live progress, logs and metrics', async () => {
    assert.equal(ready.workspace, ws.dir);
    assert.ok(ready.parallelism >= 1);
    const started = await connection.sendRequest(RunPipelineRequest.type, {
      pipeline: 'cairn.yaml',
      params: { n: '3' },
    });
    assert.ok(started.runId !== null);
    const runId = started.runId ?? 0;
    const end = await runEnd(runId);
    assert.equal(end.status, 'succeeded', end.message);
    assert.deepEqual(
      progress.filter((p) => p.runId === runId && p.step === 'make').map((p) => p.status),
      ['running', 'succeeded'],
    );
    assert.ok(
      logs.some((l) => l.runId === runId && l.step === 'make' && l.line === 'key ***'),
      'secret redacted in streamed logs',
    );
    assert.ok(!logs.some((l) => l.line.includes('k3y-value-123')));
    assert.deepEqual(
      metrics.filter((m) => m.runId === runId).map((m) => m.value),
      [1, 2, 3],
    );
    const run = await connection.sendRequest(GetRunRequest.type, { runId });
    assert.equal(run.paramDetails.n?.value, 3);
    assert.equal(run.paramDetails.n?.overridden, true);
    assert.equal(run.params.api_key, '***');
    const history = await connection.sendRequest(MetricHistoryRequest.type, { runId, key: 'loss' });
    assert.deepEqual(
      history.points.map((p) => p.value),
      [1, 2, 3],
    );
    const again = await connection.sendRequest(RunPipelineRequest.type, { pipeline: 'cairn.yaml', params: { n: '4' } });
    await runEnd(again.runId ?? 0);
    const cmp = await connection.sendRequest(CompareRunsRequest.type, { runIds: [runId, again.runId ?? 0] });
    assert.deepEqual(cmp.params, { n: [3, 4] });
    const graph = await connection.sendRequest(LineageRequest.type, { target: String(runId) });
    assert.ok(graph.nodes.some((n) => n.kind === 'step' && n.label.startsWith('use')));
    assert.ok(
      graph.nodes.some((n) => n.path === 'make.txt' && n.stale),
      'make.txt was rewritten by the later run: stale',
    );
  });

  test('an invalid pipeline returns diagnostics and runs nothing; bad params are clear errors', async () => {
    writeFileSync(path.join(ws.dir, 'bad.cairn.yaml'), 'version: 1\nsteps:\n  a:\n    runn: echo\n');
    const r = await connection.sendRequest(RunPipelineRequest.type, { pipeline: 'bad.cairn.yaml' });
    assert.equal(r.runId, null);
    assert.ok(
      r.diagnostics.some((d) => d.severity === 'error' && d.file === 'bad.cairn.yaml' && d.range.start.line === 3),
    );
    await assert.rejects(
      connection.sendRequest(GetRunRequest.type, { runId: 'one' } as unknown as GetRunRequest.Params),
      /runtime\/getRun: invalid params: runId/,
    );
    await assert.rejects(connection.sendRequest(GetRunRequest.type, { runId: 9999 }), /run 9999 does not exist/);
    await assert.rejects(
      connection.sendRequest(RunPipelineRequest.type, { pipeline: '../outside.cairn.yaml' }),
      /outside the workspace/,
    );
    await assert.rejects(
      connection.sendRequest(LineageRequest.type, { target: 'model:nothing' }),
      /no lineage recorded for model:nothing/,
    );
  });

  test('a sweep run by the CLI is listed with its runs (runtime/listSweeps, listRuns filter.sweep)', async () => {
    const r = await runCli(cli, ['sweep', 'cairn.yaml', '-p', 'n=1,2', '--format', 'json'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    const { sweepId } = JSON.parse(r.stdout) as { sweepId: number };
    const { sweeps } = await connection.sendRequest(ListSweepsRequest.type, { limit: 10 });
    const sweep = sweeps.find((s) => s.id === sweepId);
    assert.deepEqual(sweep && [sweep.pipeline, sweep.params, sweep.combinations, sweep.runs], ['rpc', ['n'], 2, 2]);
    const runs = await connection.sendRequest(ListRunsRequest.type, { filter: { sweep: sweepId } });
    assert.deepEqual(runs.runs.map((x) => [x.sweepId, x.params.n]).sort(), [
      [sweepId, 1],
      [sweepId, 2],
    ]);
  });

  test('cancel stops a running pipeline', async () => {
    const r = await connection.sendRequest(RunPipelineRequest.type, { pipeline: 'slow.cairn.yaml' });
    const runId = r.runId ?? 0;
    await new Promise<void>((resolve) => {
      const check = () =>
        progress.some((p) => p.runId === runId && p.step === 'wait' && p.status === 'running')
          ? resolve()
          : setTimeout(check, 5);
      check();
    });
    assert.deepEqual(await connection.sendRequest(CancelRunRequest.type, { runId }), { cancelled: true });
    assert.equal((await runEnd(runId)).status, 'cancelled');
    assert.deepEqual(await connection.sendRequest(CancelRunRequest.type, { runId }), { cancelled: false });
  });

  test('delete removes a finished run with its metrics and logs; a running run is refused', async () => {
    const r = await connection.sendRequest(RunPipelineRequest.type, {
      pipeline: 'cairn.yaml',
      params: { n: '2' },
      force: true,
    });
    const runId = r.runId ?? 0;
    assert.equal((await runEnd(runId)).status, 'succeeded');
    assert.ok(existsSync(path.join(ws.dir, '.cairn', 'logs', String(runId))));
    assert.deepEqual(await connection.sendRequest(DeleteRunRequest.type, { runId }), { deleted: true });
    await assert.rejects(
      connection.sendRequest(GetRunRequest.type, { runId }),
      new RegExp(`run ${runId} does not exist`),
    );
    assert.ok(!existsSync(path.join(ws.dir, '.cairn', 'logs', String(runId))), 'its logs are gone');
    const listed = await connection.sendRequest(ListRunsRequest.type, { limit: 1000 });
    assert.ok(!listed.runs.some((x) => x.id === runId));
    assert.deepEqual(await connection.sendRequest(DeleteRunRequest.type, { runId }), { deleted: false });
    const slow = await connection.sendRequest(RunPipelineRequest.type, { pipeline: 'slow.cairn.yaml' });
    const slowId = slow.runId ?? 0;
    await new Promise<void>((resolve) => {
      const check = () =>
        progress.some((p) => p.runId === slowId && p.status === 'running') ? resolve() : setTimeout(check, 5);
      check();
    });
    await assert.rejects(
      connection.sendRequest(DeleteRunRequest.type, { runId: slowId }),
      /still running: cancel it first/,
    );
    await connection.sendRequest(CancelRunRequest.type, { runId: slowId });
    await runEnd(slowId);
  });

  test('runs come page by page (runtime/runsPage): the same runs as the list, only the asked columns', async () => {
    const listed = await connection.sendRequest(ListRunsRequest.type, { limit: 1000 });
    const ids: number[] = [];
    let page = await connection.sendRequest(RunPageRequest.type, { limit: 1, columns: ['param:n'], withTotal: true });
    assert.equal(page.total, listed.total);
    // The runtime splices the store's JSON text into its answer (rpc/rawJson.ts): what arrives is a valid RunPage.
    assert.deepEqual(RunPageRequest.resultSchema.parse(page), page);
    for (;;) {
      assert.deepEqual(
        page.table.columns.map((c) => c.key),
        ['param:n'],
      );
      ids.push(...page.table.rows.map((r) => r.id));
      if (page.next === null) break;
      page = await connection.sendRequest(RunPageRequest.type, { limit: 1, columns: ['param:n'], after: page.next });
    }
    assert.deepEqual(
      ids,
      listed.runs.map((r) => r.id),
    );
    await assert.rejects(
      connection.sendRequest(RunPageRequest.type, { columns: ['n'] }),
      /runtime\/runsPage.*param:<name>/s,
    );
  });

  test('four pipelines at once while runs are listed, in-process and from another process: no SQLITE_BUSY, nothing lost', async () => {
    const starts = await Promise.all(
      [0, 1, 2, 3].map((i) => connection.sendRequest(RunPipelineRequest.type, { pipeline: `p${i}.cairn.yaml` })),
    );
    const ids = starts.map((s) => s.runId ?? 0);
    let done = false;
    const ends = Promise.all(ids.map(runEnd)).finally(() => (done = true));
    let lists = 0;
    const errors: string[] = [];
    const listLoop = (async () => {
      while (!done) {
        try {
          const l = await connection.sendRequest(ListRunsRequest.type, { limit: 50 });
          assert.ok(l.total >= 4);
          lists++;
        } catch (error) {
          errors.push(String(error));
        }
      }
    })();
    // A second process reads the same store at the same time (the CLI while the editor's runtime writes).
    const external = (async () => {
      let n = 0;
      while (!done && n < 3) {
        const r = await runCli(cli, ['runs', 'list', '--format', 'json', '--limit', '20'], ws.dir);
        if (r.code !== 0) errors.push(r.stderr);
        n++;
      }
      return n;
    })();
    const results = await ends;
    await listLoop;
    const externalLists = await external;
    assert.deepEqual(errors, []);
    assert.ok(lists > 0 && externalLists > 0);
    for (const r of results) assert.equal(r.status, 'succeeded', r.message);
    for (const id of ids) {
      const run = await connection.sendRequest(GetRunRequest.type, { runId: id });
      assert.equal(run.steps.length, 3);
      for (const s of [0, 1, 2]) {
        const h = await connection.sendRequest(MetricHistoryRequest.type, { runId: id, key: `m${s}`, maxPoints: 5000 });
        assert.equal(h.total, 500, `run ${id} m${s}`);
        assert.equal(h.points.at(-1)?.value, 500);
      }
    }
  });
});
