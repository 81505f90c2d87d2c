import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MessageConnection } from 'vscode-jsonrpc/node';
import {
  AbResultsRequest,
  AlertNotification,
  CheckGatesRequest,
  DeployRequest,
  ModelStatusRequest,
  ModelsChangedNotification,
  MonitorReportsRequest,
  PromoteModelRequest,
  StopDeploymentRequest,
  abResultSchema,
  deploymentSchema,
  gateReportSchema,
  modelStatusSchema,
  monitorReportSchema,
  promotionSchema,
  type Alert,
} from '@cairn/protocol';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { closeAlert, insertAlert } from '../../../runtime/src/monitor/alerts.js';
import { connectRuntime, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { alive, tempWorkspace } from '../engine/helpers.js';
import { buildCli, cliEnv } from '../engine/cli.js';
import { cli, fixtures, winePipeline, wineRow } from './fixture.js';

// The deployment messages over the real JSON-RPC path (in-memory streams), with a real `cairn serve` child process
// started by runtime/deploy, real HTTP to it, and the notifications that follow the store.

/** Notifications of one method, and a promise for the first one matching a predicate (a signal, not a sleep). */
class Inbox<T> {
  readonly seen: T[] = [];
  private waiters: Array<{ match: (v: T) => boolean; resolve: (v: T) => void }> = [];
  push(v: T): void {
    this.seen.push(v);
    this.waiters = this.waiters.filter((w) => (w.match(v) ? (w.resolve(v), false) : true));
  }
  next(match: (v: T) => boolean = () => true): Promise<T> {
    const found = this.seen.find(match);
    return found !== undefined
      ? Promise.resolve(found)
      : new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

describe('deployment messages over JSON-RPC', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runtime: InProcessRuntime;
  let client: MessageConnection;
  const alerts = new Inbox<Alert>();
  const changes = new Inbox<{ name?: string }>();

  before(async () => {
    ws = tempWorkspace('cairn-deploy-rpc-');
    copyFileSync(path.join(fixtures, 'data', 'wine.csv'), path.join(ws.dir, 'wine.csv'));
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), winePipeline(5));
    const [entry, run] = await Promise.all([buildCli(), cli(['run', 'cairn.yaml'], ws.dir)]);
    assert.equal(run.code, 0, run.stderr);
    engine = new Engine(ws.dir);
    runtime = connectRuntime(engine, { cliEntry: [entry], env: cliEnv(), pollMs: 100 }, (c) => {
      c.onNotification(AlertNotification.type, (a) => alerts.push(a));
      c.onNotification(ModelsChangedNotification.type, (p) => changes.push(p));
    });
    client = runtime.client;
  });
  after(async () => {
    await runtime.close();
    await engine.close();
    ws.cleanup();
  });

  test('checkGates reports each gate; promoteModel refuses, then promotes past overridden gates with a reason', async () => {
    const report = gateReportSchema.parse(
      await client.sendRequest(CheckGatesRequest.type, { name: 'wine', version: 'challenger' }),
    );
    assert.deepEqual(
      report.gates.map((g) => [g.gate, g.state]),
      [
        ['card', 'fail'],
        ['card-metrics', 'fail'],
        ['evaluation', 'pass'],
        ['drift', 'pass'],
      ],
    );
    assert.match(report.gates[0]?.detail ?? '', /registered without a model card/);
    const refused = promotionSchema.parse(
      await client.sendRequest(PromoteModelRequest.type, { name: 'wine', version: 1, alias: 'champion' }),
    );
    assert.equal(refused.move, undefined);
    await assert.rejects(
      client.sendRequest(PromoteModelRequest.type, { name: 'wine', version: 1, alias: 'champion', override: ['card'] }),
      (e: { code?: number; message?: string }) => e.code === -32602 && /needs a reason/.test(e.message ?? ''),
    );
    const before = changes.seen.length;
    const done = promotionSchema.parse(
      await client.sendRequest(PromoteModelRequest.type, {
        name: 'wine',
        version: 1,
        alias: 'champion',
        override: ['card', 'card-metrics'],
        reason: 'demo model',
        actor: 'rpc-test',
      }),
    );
    assert.equal(done.move?.version, 1);
    assert.deepEqual(
      done.gates.gates
        .filter((g) => g.state === 'overridden')
        .map((g) => [g.gate, g.override?.reason, g.override?.actor]),
      [
        ['card', 'demo model', 'rpc-test'],
        ['card-metrics', 'demo model', 'rpc-test'],
      ],
    );
    await changes.next(() => changes.seen.length > before);
    await assert.rejects(
      client.sendRequest(CheckGatesRequest.type, { name: 'nope', version: 1 }),
      (e: { code?: number }) => e.code === -32001,
    );
  });

  let deploymentId = 0;

  test('deploy starts cairn serve as a child: it listens, answers with the token, logs, and modelStatus lists it', async () => {
    const result = await client.sendRequest(DeployRequest.type, { model: 'wine@champion' });
    const d = deploymentSchema.parse(result.deployment);
    deploymentId = d.id;
    assert.equal(d.status, 'serving');
    assert.equal(d.version, 1);
    assert.ok(result.token);
    assert.ok(alive(d.pid));
    const row = wineRow;
    const res = await fetch(`${d.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${result.token}` },
      body: JSON.stringify({ dataframe_records: [row, row] }),
    });
    assert.equal(res.status, 200);
    // The log is written off the request path: wait for the row count through the runtime (bounded by the test runner).
    let status = modelStatusSchema.parse(await client.sendRequest(ModelStatusRequest.type, { name: 'wine' }));
    while ((status.deployments[0]?.logged ?? 0) < 2)
      status = modelStatusSchema.parse(await client.sendRequest(ModelStatusRequest.type, { name: 'wine' }));
    assert.deepEqual(
      status.deployments.map((x) => [x.id, x.status, x.logged, x.labelled]),
      [[d.id, 'serving', 2, 0]],
    );
    assert.equal(status.latestAb, null);
  });

  test('a monitoring report raises an alert notification; monitorReports and abResults return what is stored', async () => {
    const r = await cli(
      [
        'monitor',
        'wine',
        '--reference',
        'wine.csv',
        '--columns',
        'alcohol,proline',
        '--share',
        '0.5',
        '--format',
        'json',
      ],
      ws.dir,
    );
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const reports = await client.sendRequest(MonitorReportsRequest.type, { name: 'wine' });
    assert.equal(reports.reports.length, 1);
    const report = monitorReportSchema.parse(reports.reports[0]);
    assert.equal(report.deploymentId, deploymentId);
    assert.equal(report.report.currentRows, 2);
    // An alert written to the store (as a CLI `cairn monitor` in another process would) reaches the client; so does its closing.
    const written =
      (await engine.store.monitor.openAlert('wine', 1, 'drift')) ??
      (await insertAlert(engine.store, {
        name: 'wine',
        version: 1,
        deploymentId,
        kind: 'drift',
        message: 'test drift',
        reportId: report.id,
      }));
    const opened = await alerts.next((a) => a.id === written.id && a.closedAt === null);
    assert.equal(opened.reportId, report.id);
    const status = modelStatusSchema.parse(await client.sendRequest(ModelStatusRequest.type, { name: 'wine' }));
    assert.deepEqual(
      status.alerts.map((a) => a.id),
      [written.id],
    );
    await closeAlert(engine.store, written.id, 'two rows are not traffic');
    const closedAlert = await alerts.next((a) => a.id === written.id && a.closedAt !== null);
    assert.equal(closedAlert.closedReason, 'two rows are not traffic');
    const one = await client.sendRequest(MonitorReportsRequest.type, { id: report.id });
    assert.equal(one.reports[0]?.id, report.id);
    const ab = await client.sendRequest(AbResultsRequest.type, { name: 'wine' });
    assert.deepEqual(
      ab.results.map((x) => abResultSchema.parse(x)),
      [],
    );
    await assert.rejects(
      client.sendRequest(MonitorReportsRequest.method, { limit: 0 }),
      (e: { code?: number }) => e.code === -32602,
    );
  });

  test('cairn deployments list: counts, and a serving row whose process is gone becomes interrupted', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    engine.store.db
      .prepare(
        "INSERT INTO deployments (name, ref, version, url, pid, log_sample, status, started_at) VALUES ('wine', 'wine@1', 1, 'http://127.0.0.1:1', ?, 1, 'serving', 1)",
      )
      .run(gone);
    const r = await cli(['deployments', 'list', 'wine', '--format', 'json'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    const list = deploymentSchema.array().parse((JSON.parse(r.stdout) as { deployments: unknown }).deployments);
    assert.deepEqual(
      list.map((d) => [d.status, d.logged]),
      [
        ['interrupted', 0],
        ['serving', 2],
      ],
    );
    assert.equal(list[1]?.id, deploymentId);
    const text = await cli(['deployments', 'list'], ws.dir);
    assert.match(text.stdout, new RegExp(`^${deploymentId}\\s+wine@champion\\s+1\\s+serving`, 'm'));
    const bad = await cli(['deployments', 'stop', 'x'], ws.dir);
    assert.equal(bad.code, 2);
  });

  test('stopDeployment sends SIGTERM: the server marks itself stopped and exits', async () => {
    const stopped = deploymentSchema.parse(await client.sendRequest(StopDeploymentRequest.type, { id: deploymentId }));
    assert.equal(stopped.status, 'stopped');
    assert.ok(stopped.stoppedAt !== null);
    await assert.rejects(
      client.sendRequest(StopDeploymentRequest.type, { id: deploymentId }),
      (e: { code?: number; message?: string }) => e.code === -32002 && /not serving/.test(e.message ?? ''),
    );
    await assert.rejects(
      client.sendRequest(StopDeploymentRequest.type, { id: 999 }),
      (e: { code?: number }) => e.code === -32001,
    );
  });

  test('deploy with a pipeline serves with its deploy.serve port and deploy.ab split and key; a bad deploy.ab is refused with file:line', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const a = probe.address();
        probe.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const pipeline = (split: string) =>
      `version: 1\nsteps:\n  noop:\n    run: echo\ndeploy:\n  model: wine.csv\n  serve: { port: ${port} }\n  ab:\n    split: ${split}\n    key: alcohol\n`;
    writeFileSync(path.join(ws.dir, 'deploy.cairn.yaml'), pipeline('{ champion: 0.8, challenger: 0.2 }'));
    const result = await client.sendRequest(DeployRequest.type, {
      model: 'wine@champion',
      challenger: 'wine@challenger',
      pipeline: 'deploy.cairn.yaml',
    });
    const d = deploymentSchema.parse(result.deployment);
    assert.equal(d.url, `http://127.0.0.1:${port}`, 'the port of deploy.serve (the request gave none)');
    assert.deepEqual([d.challenger?.ref, d.challenger?.split, d.challenger?.key], ['wine@challenger', 0.2, 'alcohol']);
    assert.equal(
      deploymentSchema.parse(await client.sendRequest(StopDeploymentRequest.type, { id: d.id })).status,
      'stopped',
    );
    // The lens sends the latest version and no challenger: with deploy.ab and both aliases set, the A/B test is deployed.
    const lens = deploymentSchema.parse(
      (await client.sendRequest(DeployRequest.type, { model: 'wine@1', pipeline: 'deploy.cairn.yaml' })).deployment,
    );
    assert.deepEqual(
      [lens.ref, lens.challenger?.ref, lens.challenger?.split, lens.challenger?.key],
      ['wine@champion', 'wine@challenger', 0.2, 'alcohol'],
    );
    assert.equal(
      deploymentSchema.parse(await client.sendRequest(StopDeploymentRequest.type, { id: lens.id })).status,
      'stopped',
    );
    writeFileSync(path.join(ws.dir, 'deploy.cairn.yaml'), pipeline('{ champion: 0.8, staging: 0.2 }'));
    const alone = deploymentSchema.parse(
      (await client.sendRequest(DeployRequest.type, { model: 'wine@1', pipeline: 'deploy.cairn.yaml' })).deployment,
    );
    assert.deepEqual(
      [alone.ref, alone.challenger],
      ['wine@1', null],
      'no version is staging yet: the model asked for, alone',
    );
    assert.equal(
      deploymentSchema.parse(await client.sendRequest(StopDeploymentRequest.type, { id: alone.id })).status,
      'stopped',
    );
    writeFileSync(path.join(ws.dir, 'deploy.cairn.yaml'), pipeline('{ champion: 0.8, challenger: 0.3 }'));
    await assert.rejects(
      client.sendRequest(DeployRequest.type, {
        model: 'wine@champion',
        pipeline: path.join(ws.dir, 'deploy.cairn.yaml'),
      }),
      (e: { code?: number; message?: string }) =>
        e.code === -32002 &&
        /deploy\.cairn\.yaml:9:12: error ab-split: deploy\.ab\.split shares add up to 1\.1, not 1/.test(
          e.message ?? '',
        ),
    );
  });
});
