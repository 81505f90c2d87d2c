import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MessageConnection } from 'vscode-jsonrpc/node';
import { RunExplanationsRequest, explainedRunTag, explanationsSchema } from '@cairn/protocol';
import { main } from '../../../runtime/src/cli/main.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { connectRuntime, rpcFailure, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { tempWorkspace } from '../engine/helpers.js';
import { explainedCreditPipeline } from './explainFixture.js';

// `runtime/explanations` over the real JSON-RPC path (in-memory streams) against a real run of a small credit
// pipeline: the view gets the explanations the run recorded (from the artifact store, not the workspace file), and
// not-found errors that say what to do.

const PIPELINE = explainedCreditPipeline(
  'credit-explain',
  5,
  `  plain:
    uses: evaluate.classification
    with: { model: "\${steps.gbdt.outputs.model}", test: "\${steps.split.outputs.test}", target: Status, positive: bad }
    outputs: [report]
`,
);

describe('runtime/explanations over JSON-RPC', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runtime: InProcessRuntime;
  let client: MessageConnection;
  let runId: number;

  before(async () => {
    ws = tempWorkspace('cairn-explain-rpc-');
    mkdirSync(path.join(ws.dir, 'data'));
    copyFileSync(
      path.resolve(__dirname, '../../../samples/credit/data/credit.csv'),
      path.join(ws.dir, 'data', 'credit.csv'),
    );
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), PIPELINE);
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd: ws.dir, isTty: false };
    assert.equal(await main(['run', 'cairn.yaml', '--format', 'json'], io), 0, err.join('') + out.join(''));
    runId = (JSON.parse(out.join('')) as { runId: number }).runId;
    engine = new Engine(ws.dir);
    runtime = connectRuntime(engine, { pollMs: 60_000 });
    client = runtime.client;
  });
  after(async () => {
    await runtime.close();
    await engine.close();
    ws.cleanup();
  });

  test("answers the run's recorded explanations, read from the artifact store", async () => {
    const answer = RunExplanationsRequest.resultSchema.parse(
      await client.sendRequest(RunExplanationsRequest.type, { runId }),
    );
    assert.equal(answer.runId, runId);
    assert.deepEqual(
      answer.steps.map((s) => s.step),
      ['evaluate'],
      'only the step that explains',
    );
    const [only] = answer.steps;
    assert.ok(only);
    const file = path.join(ws.dir, only.path);
    assert.deepEqual(only.explanations, explanationsSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
    assert.equal(only.explanations.contributions?.method, 'tree-shap');
    assert.equal(only.explanations.contributions.rows.length, 5);
    // A later edit of the workspace file does not change what the run recorded.
    writeFileSync(file, '{"not": "explanations"}');
    const again = RunExplanationsRequest.resultSchema.parse(
      await client.sendRequest(RunExplanationsRequest.type, { runId, step: 'evaluate' }),
    );
    assert.deepEqual(again.steps[0]?.explanations, only.explanations);
  });

  test('the run is tagged as explained, and so is a re-run whose steps are cache hits', async () => {
    assert.equal(await engine.store.runs.tag(runId, explainedRunTag), 'true');
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: () => undefined, cwd: ws.dir, isTty: false };
    assert.equal(await main(['run', 'cairn.yaml', '--format', 'json'], io), 0, out.join(''));
    const cached = (JSON.parse(out.join('')) as { runId: number }).runId;
    assert.notEqual(cached, runId);
    assert.equal(await engine.store.runs.tag(cached, explainedRunTag), 'true');
    const answer = RunExplanationsRequest.resultSchema.parse(
      await client.sendRequest(RunExplanationsRequest.type, { runId: cached }),
    );
    assert.deepEqual(
      answer.steps.map((s) => s.step),
      ['evaluate'],
    );
  });

  test('not-found errors say what to do', async () => {
    const noRun = await rpcFailure(client.sendRequest(RunExplanationsRequest.type, { runId: runId + 100 }));
    assert.deepEqual([noRun.code, noRun.message], [-32001, `run ${runId + 100} does not exist`]);
    const noStep = await rpcFailure(client.sendRequest(RunExplanationsRequest.type, { runId, step: 'plain' }));
    assert.equal(noStep.code, -32001);
    assert.match(
      noStep.message,
      new RegExp(`step plain of run ${runId} recorded no explanations; the steps that did: evaluate`),
    );
    const bad = await rpcFailure(client.sendRequest(RunExplanationsRequest.method, { runId: 'one' }));
    assert.equal(bad.code, -32602);
    assert.match(bad.message, /runtime\/explanations: invalid params: runId/);
  });
});
