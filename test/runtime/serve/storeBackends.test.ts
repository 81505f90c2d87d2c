import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  alertSchema,
  feedbackResponseSchema,
  invocationResponseSchema,
  monitorRunSchema,
  serveStartedSchema,
} from '@cairn/protocol';
import { cellValue, readTable } from '../../../runtime/src/ml/data/index.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { forEachBackend } from '../../lib/stores.js';
import { cli, fixtures, winePipeline } from '../deploy/fixture.js';
import { buildCli, spawnCli } from '../engine/cli.js';
import { tempWorkspace } from '../engine/helpers.js';
import { firstLine } from './fixture.js';

// One real `cairn serve` per store backend, the workspace pointed at the store by .cairn/config.yaml (PostgreSQL: the
// URL without its password, which goes in PGPASSWORD as docs/team.md says): a pipeline registers a model, the server
// answers requests and logs them, feedback labels them, `cairn monitor` finds the drift and opens an alert, and every
// row is read back through a second connection to the store.

let built: Promise<string> | undefined;
const cliPath = (): Promise<string> => (built ??= buildCli());
const TOKEN = 'backend-token-0123456789';

forEachBackend('cairn serve and cairn monitor', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  /** What the spawned server gets in its environment (the password, on PostgreSQL). */
  const env: NodeJS.ProcessEnv = {};

  before(async () => {
    ws = tempWorkspace(`cairn-serve-${b.name}-`);
    copyFileSync(path.join(fixtures, 'data', 'wine.csv'), path.join(ws.dir, 'wine.csv'));
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), winePipeline(40));
    let url = await b.location();
    if (b.name === 'postgres') {
      const u = new URL(url);
      env.PGPASSWORD = decodeURIComponent(u.password);
      u.password = '';
      url = u.toString();
      // The in-process commands below read it from this process's environment, as a user's shell would give it.
      process.env.PGPASSWORD = env.PGPASSWORD;
    }
    mkdirSync(path.join(ws.dir, '.cairn'), { recursive: true });
    writeFileSync(path.join(ws.dir, '.cairn', 'config.yaml'), `store:\n  url: ${JSON.stringify(url)}\n`);
    const run = await cli(['run', 'cairn.yaml', '--format', 'json'], ws.dir);
    assert.equal(run.code, 0, run.stderr);
  });
  after(() => ws.cleanup());

  test('a request is logged, its feedback stored, and the monitor opens an alert, all in the store', async () => {
    const info = await cli(['store', 'info'], ws.dir);
    assert.match(info.stdout, b.name === 'postgres' ? /postgres:\/\// : /cairn\.db/, info.stdout);

    const child = spawnCli(
      await cliPath(),
      [
        'serve',
        '--model',
        'wine@challenger',
        '--workspace',
        ws.dir,
        '--port',
        '0',
        '--format',
        'json',
        '--token',
        TOKEN,
      ],
      ws.dir,
      env,
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
    assert.equal(typeof started.deploymentId, 'number');
    const deploymentId = started.deploymentId ?? -1;

    // Traffic as in test/runtime/deploy/monitor.test.ts: 80 random wines, then 40 wines of class 0 (a real shift).
    const wine = await readTable(path.join(ws.dir, 'wine.csv'));
    const features = wine.columns.filter((c) => c.name !== 'target');
    const target = wine.columns.find((c) => c.name === 'target');
    assert.ok(target);
    const random = seededRandom(7);
    const order = Array.from({ length: wine.rowCount }, (_, i) => i).sort(() => random() - 0.5);
    const class0 = order.filter((i) => cellValue(target, i) === 0);
    const batches = [order.slice(0, 40), order.slice(40, 80), class0.slice(0, 40)];
    const record = (i: number): Record<string, unknown> =>
      Object.fromEntries(features.map((c) => [c.name, cellValue(c, i)]));
    const answers: Array<{ id: string; predictions: unknown[] }> = [];
    for (const rows of batches) {
      const res = await fetch(`${started.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ dataframe_records: rows.map(record) }),
      });
      assert.equal(res.status, 200);
      const id = res.headers.get('x-cairn-request-id');
      assert.ok(id);
      answers.push({ id, predictions: invocationResponseSchema.parse(await res.json()).predictions });
    }

    // Feedback for the first request: every row's true class. The server writes its pending rows first.
    const first = answers[0];
    assert.ok(first);
    const labels = (batches[0] ?? []).map((i) => cellValue(target, i));
    const fb = await fetch(`${started.url}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ request_id: first.id, labels }),
    });
    assert.equal(fb.status, 200);
    assert.deepEqual(feedbackResponseSchema.parse(await fb.json()), { updated: 40, unknown: 0 });

    child.kill('SIGTERM');
    assert.equal(await exited, 0);

    // Read back through another connection: every row as answered, the labels on the first request's rows.
    const store = await b.open();
    try {
      const logged = await store.deployments.predictions([deploymentId]);
      assert.equal(logged.length, 120);
      const firstRow = logged[0];
      assert.ok(firstRow);
      assert.deepEqual(JSON.parse(firstRow.inputsJson), record(batches[0]?.[0] ?? -1));
      assert.deepEqual(JSON.parse(firstRow.predictionJson), first.predictions[0]);
      assert.deepEqual(
        logged.slice(0, 40).map((p) => (p.labelJson === null ? null : (JSON.parse(p.labelJson) as unknown))),
        labels,
      );
      assert.equal(
        logged.slice(40).every((p) => p.labelJson === null),
        true,
      );
      const d = await store.deployments.get(deploymentId);
      assert.deepEqual([d?.status, d?.logged, d?.labelled, d?.version], ['stopped', 120, 40, 1]);
    } finally {
      await store.close();
    }

    // The monitor reads the log from the same store: the class-0 window drifts, one alert opens.
    const m = await cli(['monitor', 'wine', '--window-rows', '40', '--format', 'json'], ws.dir);
    assert.equal(m.code, 1, m.stderr);
    const out = monitorRunSchema.parse(JSON.parse(m.stdout));
    assert.deepEqual(
      out.report.report.windows.map((w) => w.rows),
      [40, 40, 40],
    );
    assert.equal(out.alertOpened, true);
    const alerts = await cli(['monitor', 'alerts', 'wine', '--format', 'json'], ws.dir);
    assert.equal(alerts.code, 0, alerts.stderr);
    const list = alertSchema.array().parse((JSON.parse(alerts.stdout) as { alerts: unknown }).alerts);
    assert.deepEqual(
      list.map((a) => a.id),
      [out.alert?.id],
    );
  });
});
