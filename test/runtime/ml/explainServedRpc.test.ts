import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MessageConnection } from 'vscode-jsonrpc/node';
import {
  ExplainServedRequest,
  invocationResponseSchema,
  RunExplanationsRequest,
  ServedPredictionsRequest,
  type ServedContributions,
} from '@cairn/protocol';
import { main } from '../../../runtime/src/cli/main.js';
import { PredictionLog } from '../../../runtime/src/deploy/predictionLog.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { restoreVersion, type RegisteredModel } from '../../../runtime/src/serve/registered.js';
import { connectRuntime, rpcFailure, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { tempWorkspace } from '../engine/helpers.js';
import { explainedCreditPipeline } from './explainFixture.js';

// `runtime/servedPredictions` and `runtime/explainServed` over the real JSON-RPC path: a run registers a
// gradient-boosted model (with explain: true on its evaluate step), a real server answers two rows with
// `explain: true` and logs them to its deployment; the runtime lists the logged rows and explains each one with the
// contributions the server itself answered, next to the importance the run recorded.

const PIPELINE = explainedCreditPipeline(
  'credit-served',
  3,
  `  register:
    uses: model.register
    needs: [evaluate]
    with: { model: "\${steps.gbdt.outputs.model}", name: credit-gbdt }
`,
);

/** Two rows of the credit data as `dataframe_records` (without the label). */
function creditRows(file: string): Array<Record<string, string | number>> {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const unquote = (s: string): string => s.replace(/^"|"$/g, '');
  const keys = (lines[0] ?? '').split(',').map(unquote);
  return [1, 2].map((i) => {
    const values = (lines[i] ?? '').split(',').map(unquote);
    return Object.fromEntries(
      keys.flatMap((k, j) =>
        k === 'Status' ? [] : [[k, /^-?\d+(\.\d+)?$/.test(values[j] ?? '') ? Number(values[j]) : (values[j] ?? '')]],
      ),
    );
  });
}

describe('runtime/explainServed over JSON-RPC', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runtime: InProcessRuntime;
  let client: MessageConnection;
  let runId: number;
  let deploymentId: number;
  let answered: ServedContributions;
  let restored: RegisteredModel;

  before(async () => {
    ws = tempWorkspace('cairn-explain-served-');
    mkdirSync(path.join(ws.dir, 'data'));
    const csv = path.join(ws.dir, 'data', 'credit.csv');
    copyFileSync(path.resolve(__dirname, '../../../samples/credit/data/credit.csv'), csv);
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), PIPELINE);
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd: ws.dir, isTty: false };
    assert.equal(await main(['run', 'cairn.yaml', '--format', 'json'], io), 0, err.join('') + out.join(''));
    runId = (JSON.parse(out.join('')) as { runId: number }).runId;
    engine = new Engine(ws.dir);
    // A real server of version 1 logging to its deployment, as `cairn serve --model credit-gbdt@1` does.
    restored = await restoreVersion(engine.store, ws.dir, 'credit-gbdt@1');
    const server = await ModelServer.start({
      model: restored.file,
      port: 0,
      token: null,
      registered: { name: 'credit-gbdt', version: 1 },
    });
    deploymentId = await engine.store.deployments.start({
      name: 'credit-gbdt',
      ref: 'credit-gbdt@1',
      version: 1,
      challenger: null,
      url: server.url,
      pid: process.pid,
      logSample: 1,
    });
    const log = new PredictionLog(engine.store, deploymentId, { sample: 1, maxRows: 1000, thread: false });
    server.attachDeployment(deploymentId, log);
    try {
      const res = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dataframe_records: creditRows(csv), explain: true }),
      });
      const body = invocationResponseSchema.parse(await res.json());
      assert.equal(res.status, 200);
      assert.ok(body.explanations);
      answered = body.explanations;
    } finally {
      await server.close();
      await log.close();
    }
    runtime = connectRuntime(engine, { pollMs: 60_000 });
    client = runtime.client;
  });
  after(async () => {
    await runtime.close();
    await restored.remove();
    await engine.close();
    ws.cleanup();
  });

  test("lists the deployment's logged rows newest first; explains each with the server's own contributions", async () => {
    const listed = ServedPredictionsRequest.resultSchema.parse(
      await client.sendRequest(ServedPredictionsRequest.type, { deploymentId }),
    );
    assert.equal(listed.name, 'credit-gbdt');
    // One request: both rows share their time; newest first puts row 2 on top.
    assert.deepEqual(
      listed.rows.map((r) => [r.nth, r.version, r.arm]),
      [
        [1, 1, 'champion'],
        [0, 1, 'champion'],
      ],
    );
    const { importance } = RunExplanationsRequest.resultSchema.parse(
      await client.sendRequest(RunExplanationsRequest.type, { runId }),
    ).steps[0]!.explanations;
    for (const row of listed.rows) {
      const got = ExplainServedRequest.resultSchema.parse(
        await client.sendRequest(ExplainServedRequest.type, { deploymentId, at: row.at, nth: row.nth }),
      );
      assert.match(
        got.title,
        new RegExp(`^credit-gbdt v1 · deployment #${deploymentId} · .* \\(row ${row.nth + 1}\\)$`),
      );
      assert.deepEqual(got.explanations.importance, importance, "the registering run's importance");
      const c = got.explanations.contributions;
      assert.ok(c);
      assert.equal(c.method, 'tree-shap');
      assert.deepEqual([c.features, c.outputs, c.base], [answered.features, answered.outputs, answered.base]);
      assert.equal(c.rows.length, 1);
      const served = answered.rows[row.nth];
      assert.ok(served);
      assert.deepEqual([c.rows[0]?.values, c.rows[0]?.margin], [served.values, served.margin]);
      assert.equal(c.rows[0]?.inputs['Income'], row.inputs['Income']);
      // Exact: the base plus the contributions is the margin.
      const sum = (c.base[0] ?? 0) + (c.rows[0]?.values[0] ?? []).reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum - (c.rows[0]?.margin[0] ?? NaN)) < 1e-9, `${sum} vs ${c.rows[0]?.margin[0]}`);
    }
  });

  test('a row the log does not have, or a deployment that does not exist, is a not-found saying what to do', async () => {
    const [row] = ServedPredictionsRequest.resultSchema.parse(
      await client.sendRequest(ServedPredictionsRequest.type, { deploymentId, limit: 1 }),
    ).rows;
    assert.ok(row);
    const gone = await rpcFailure(client.sendRequest(ExplainServedRequest.type, { deploymentId, at: row.at, nth: 5 }));
    assert.equal(gone.code, -32001);
    assert.match(gone.message, /logged no prediction at .* \(row 6\): the log keeps its newest rows only/);
    const none = await rpcFailure(
      client.sendRequest(ServedPredictionsRequest.type, { deploymentId: deploymentId + 9 }),
    );
    assert.deepEqual(
      [none.code, none.message],
      [-32001, `deployment ${deploymentId + 9} does not exist (cairn deployments list)`],
    );
    const bad = await rpcFailure(client.sendRequest(ExplainServedRequest.method, { deploymentId, at: 'now', nth: 0 }));
    assert.equal(bad.code, -32602);
  });
});
