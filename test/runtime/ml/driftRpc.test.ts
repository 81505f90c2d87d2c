import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MessageConnection } from 'vscode-jsonrpc/node';
import { DriftRequest, MonitorReportsRequest, driftReportSchema } from '@cairn/protocol';
import { main } from '../../../runtime/src/cli/main.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { connectRuntime, rpcFailure, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { tempWorkspace } from '../engine/helpers.js';
import { fixtures } from '../deploy/fixture.js';

// `runtime/drift` over the real JSON-RPC path (in-memory streams) against a real workspace: the editor's "Show Drift"
// gets the report `cairn drift --format json` prints, from the same implementation, and clear errors by kind.

describe('runtime/drift over JSON-RPC', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runtime: InProcessRuntime;
  let client: MessageConnection;

  before(() => {
    ws = tempWorkspace('cairn-drift-rpc-');
    copyFileSync(path.join(fixtures, 'data', 'wine.csv'), path.join(ws.dir, 'wine.csv'));
    writeFileSync(path.join(ws.dir, 'r.csv'), 'a,b\n' + Array.from({ length: 50 }, (_, i) => `${i},x`).join('\n'));
    writeFileSync(
      path.join(ws.dir, 'c.csv'),
      'a,b\n' + Array.from({ length: 50 }, (_, i) => `${i + 100},y`).join('\n'),
    );
    engine = new Engine(ws.dir);
    runtime = connectRuntime(engine, { pollMs: 60_000 });
    client = runtime.client;
  });
  after(async () => {
    await runtime.close();
    await engine.close();
    ws.cleanup();
  });

  test('answers the report cairn drift --format json prints for the same files and options', async () => {
    const params = {
      reference: 'r.csv',
      current: path.join(ws.dir, 'c.csv'),
      tests: { a: { test: 'psi' as const, threshold: 0.5 } },
    };
    const report = driftReportSchema.parse(await client.sendRequest(DriftRequest.type, params));
    assert.deepEqual(
      report.features.map((f) => [f.name, f.method, f.drifted]),
      [
        ['a', 'psi', true],
        ['b', 'chisquare', true],
      ],
    );
    assert.equal(report.datasetDrifted, true);
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: () => undefined, cwd: ws.dir, isTty: false };
    assert.equal(
      await main(
        ['drift', '--reference', 'r.csv', '--current', 'c.csv', '--test', 'a=psi:0.5', '--format', 'json'],
        io,
      ),
      1,
    );
    assert.deepEqual(report, JSON.parse(out.join('')), 'one implementation, one shape');
  });

  test('the default tests and the chosen columns and share', async () => {
    const report = driftReportSchema.parse(
      await client.sendRequest(DriftRequest.type, {
        reference: 'wine.csv',
        current: 'wine.csv',
        columns: ['alcohol', 'hue'],
        share: 0.25,
      }),
    );
    assert.deepEqual(
      report.features.map((f) => [f.name, f.method, f.score, f.drifted]),
      [
        ['alcohol', 'ks', 1, false],
        ['hue', 'ks', 1, false],
      ],
    );
    assert.deepEqual([report.testedColumns, report.shareThreshold, report.datasetDrifted], [2, 0.25, false]);
  });

  test('errors by kind: a missing file is not-found, a path outside the workspace refused, bad data or params invalid', async () => {
    const missing = await rpcFailure(
      client.sendRequest(DriftRequest.type, { reference: 'nope.csv', current: 'c.csv' }),
    );
    assert.equal(missing.code, -32001);
    assert.match(missing.message, /the reference data nope\.csv does not exist/);
    const outside = await rpcFailure(
      client.sendRequest(DriftRequest.type, { reference: '../r.csv', current: 'c.csv' }),
    );
    assert.equal(outside.code, -32002);
    assert.match(outside.message, /leaves the workspace/);
    const column = await rpcFailure(
      client.sendRequest(DriftRequest.type, { reference: 'r.csv', current: 'c.csv', columns: ['zzz'] }),
    );
    assert.equal(column.code, -32602);
    assert.match(column.message, /column 'zzz' is not in the reference and current data/);
    const test_ = await rpcFailure(
      client.sendRequest(DriftRequest.type, { reference: 'r.csv', current: 'c.csv', tests: { b: { test: 'ks' } } }),
    );
    assert.equal(test_.code, -32602);
    assert.match(test_.message, /column 'b' is categorical: the 'ks' test needs numbers/);
    const params = await rpcFailure(
      client.sendRequest(DriftRequest.method, {
        reference: 'r.csv',
        current: 'c.csv',
        share: 2,
        tests: { a: { test: 'chi2' } },
      }),
    );
    assert.equal(params.code, -32602);
    assert.match(params.message, /runtime\/drift: invalid params: share: .*; tests\.a\.test: /);
  });

  test("a monitoring report stored in the drift view's former shape is refused with what to do, not guessed", async () => {
    const former = {
      id: 'monitor:wine@1:1',
      title: 't',
      createdAt: 1,
      referenceRows: 5,
      currentRows: 5,
      share: 0,
      shareThreshold: 0.5,
      drifted: false,
      features: [],
      windows: [],
    };
    await engine.store.monitor.insertReport({
      name: 'wine',
      version: 1,
      deploymentId: null,
      reference: 'wine.csv',
      drifted: false,
      reportJson: JSON.stringify(former),
      createdAt: 1,
    });
    const refused = await rpcFailure(client.sendRequest(MonitorReportsRequest.type, { name: 'wine' }));
    assert.equal(refused.code, -32002);
    assert.match(
      refused.message,
      /monitor report \d+ of wine was stored by an older Cairn .*run `cairn monitor wine` again/,
    );
  });
});
