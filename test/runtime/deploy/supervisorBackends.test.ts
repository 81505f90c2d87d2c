import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { DeployRequest, StopDeploymentRequest, deploymentSchema } from '@cairn/protocol';
import { workspaceSettings } from '../../../runtime/src/config/workspace.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { connectRuntime, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { forEachBackend } from '../../lib/stores.js';
import { buildCli, cliEnv } from '../engine/cli.js';
import { tempWorkspace } from '../engine/helpers.js';
import { cli, fixtures, winePipeline, wineRow } from './fixture.js';

// runtime/deploy on both store backends, the store named only by the runtime's own settings (as `--store` would: no
// CAIRN_STORE_URL, no .cairn/config.yaml): the `cairn serve` child it starts must write its deployment row and
// prediction log into that same store, which the supervisor hands it in the child's environment.

forEachBackend('runtime/deploy', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runtime: InProcessRuntime;

  before(async () => {
    ws = tempWorkspace(`cairn-deploy-${b.name}-`);
    copyFileSync(path.join(fixtures, 'data', 'wine.csv'), path.join(ws.dir, 'wine.csv'));
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), winePipeline(5));
    const url = await b.location();
    const [entry, run] = await Promise.all([buildCli(), cli(['run', 'cairn.yaml', '--store', url], ws.dir)]);
    assert.equal(run.code, 0, run.stderr);
    engine = await Engine.open(workspaceSettings(ws.dir, { store: url }));
    const env = cliEnv();
    delete env.CAIRN_STORE_URL;
    runtime = connectRuntime(engine, { cliEntry: [entry], env, pollMs: 100 });
  });
  after(async () => {
    await runtime.close();
    await engine.close();
    ws.cleanup();
  });

  test('the deployed server logs into the runtime store; stopping it leaves every row there', async () => {
    const client = runtime.client;
    const result = await client.sendRequest(DeployRequest.type, { model: 'wine@challenger' });
    const d = deploymentSchema.parse(result.deployment);
    assert.equal(d.status, 'serving');
    const row = wineRow;
    const res = await fetch(`${d.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${result.token}` },
      body: JSON.stringify({ dataframe_records: [row, row, row] }),
    });
    assert.equal(res.status, 200);
    // SIGTERM: the server writes its pending rows, marks itself stopped, exits.
    const stopped = deploymentSchema.parse(await client.sendRequest(StopDeploymentRequest.type, { id: d.id }));
    assert.equal(stopped.status, 'stopped');
    const logged = await engine.store.deployments.predictions([d.id]);
    assert.deepEqual(
      logged.map((p): unknown[] => [p.arm, p.version, JSON.parse(p.inputsJson) as unknown]),
      [0, 1, 2].map(() => ['champion', 1, row]),
    );
  });
});
