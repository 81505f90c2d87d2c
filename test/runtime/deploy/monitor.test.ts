import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { abResultSchema, alertSchema, titledDriftReportSchema, monitorRunSchema } from '@cairn/protocol';
import { cellValue, readTable } from '../../../runtime/src/ml/data/index.js';
import { loadPredictor } from '../../../runtime/src/ml/models/index.js';
import { restoreRegistered } from '../../../runtime/src/serve/registered.js';
import { Store } from '../../../runtime/src/store/store.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { tempWorkspace } from '../engine/helpers.js';
import { cli, fixtures, winePipeline } from './fixture.js';

// Monitoring on real data with real drift: a logistic regression trained on the wine table (sklearn's, see
// scripts/golden) by a pipeline file; its "traffic" is logged as cairn serve logs it — first a random sample of wines,
// then only wines of class 0 (a real shift in most features). The reference comes from lineage (split.train).

describe('cairn monitor', () => {
  let ws: ReturnType<typeof tempWorkspace>;

  before(async () => {
    ws = tempWorkspace('cairn-monitor-');
    copyFileSync(path.join(fixtures, 'data', 'wine.csv'), path.join(ws.dir, 'wine.csv'));
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), winePipeline(40));
    const run = await cli(['run', 'cairn.yaml', '--format', 'json'], ws.dir);
    assert.equal(run.code, 0, run.stderr);

    // The prediction log, as cairn serve writes it (migration 5): 80 random wines, then 40 wines of class 0.
    const wine = await readTable(path.join(ws.dir, 'wine.csv'));
    const target = wine.columns.find((c) => c.name === 'target');
    assert.ok(target);
    const random = seededRandom(7);
    const all = Array.from({ length: wine.rowCount }, (_, i) => i).sort(() => random() - 0.5);
    const class0 = all.filter((i) => cellValue(target, i) === 0);
    const traffic = [...all.slice(0, 80), ...class0.slice(0, 40)];
    const model = await restoreRegistered(ws.dir, 'wine@challenger');
    const predictor = await loadPredictor(model.file);
    await model.remove();
    assert.equal(predictor.kind, 'tabular');
    const store = new Store(path.join(ws.dir, '.cairn', 'cairn.db'));
    try {
      const dep = Number(
        store.db
          .prepare(
            "INSERT INTO deployments (name, ref, version, url, pid, log_sample, status, started_at) VALUES ('wine', 'wine@challenger', 1, 'http://127.0.0.1:1', ?, 1, 'serving', ?)",
          )
          .run(process.pid, Date.now()).lastInsertRowid,
      );
      const insert = store.db.prepare(
        "INSERT INTO predictions (deployment_id, request_id, row, arm, version, inputs_json, prediction_json, latency_ms, at) VALUES (?, ?, 0, 'champion', 1, ?, ?, 1, ?)",
      );
      const t0 = Date.UTC(2026, 0, 1);
      for (const [k, i] of traffic.entries()) {
        const inputs: Record<string, unknown> = {};
        for (const c of wine.columns) if (c.name !== 'target') inputs[c.name] = cellValue(c, i);
        const row = {
          rowCount: 1,
          columns: wine.columns
            .filter((c) => c.name !== 'target')
            .map((c) => ({
              ...c,
              values: c.type === 'string' ? [c.values[i] ?? null] : Float64Array.of(c.values[i] ?? 0),
              missing: null,
            })),
        };
        const scores = predictor.kind === 'tabular' ? await predictor.predict(row as never) : null;
        const best = scores ? Array.from(scores.values).indexOf(Math.max(...scores.values)) : 0;
        insert.run(
          dep,
          `r${k}`,
          JSON.stringify(inputs),
          JSON.stringify({ label: predictor.kind === 'tabular' ? (predictor.classes?.[best] ?? best) : best }),
          t0 + k * 60_000,
        );
      }
    } finally {
      await store.close();
    }
  });
  after(() => ws.cleanup());

  let alertId = 0;

  test('the latest window drifts: one alert opens, the report is stored with its windows (exit 1)', async () => {
    const r = await cli(['monitor', 'wine', '--window-rows', '40', '--format', 'json'], ws.dir);
    assert.equal(r.code, 1, r.stderr);
    const out = monitorRunSchema.parse(JSON.parse(r.stdout));
    assert.equal(out.drifted, true);
    assert.equal(out.alertOpened, true);
    assert.ok(out.alert);
    alertId = out.alert.id;
    assert.equal(out.alert.reportId, out.report.id);
    assert.match(out.report.reference, /split.*train.*input of step train, run 1/);
    const windows = out.report.report.windows;
    assert.deepEqual(
      windows.map((w) => w.rows),
      [40, 40, 40],
    );
    assert.ok(
      (windows[0]?.share ?? 1) < 0.5,
      `a random sample of the same wines does not drift (share ${windows[0]?.share})`,
    );
    assert.ok((windows[2]?.share ?? 0) >= 0.5, `class-0 wines drift (share ${windows[2]?.share})`);
    assert.ok(
      out.report.report.features.some((f) => f.name === 'prediction'),
      'the predictions are compared too',
    );
    assert.ok(windows[2]?.features.find((f) => f.name === 'prediction')?.drifted, 'only class 0 is predicted now');
    // The stored row holds the same report, windows filled, in the drift view's shape.
    const store = new Store(path.join(ws.dir, '.cairn', 'cairn.db'));
    try {
      const row = store.db
        .prepare<[], { report_json: string; drifted: number }>('SELECT report_json, drifted FROM monitor_reports')
        .get();
      assert.equal(row?.drifted, 1);
      assert.equal(titledDriftReportSchema.parse(JSON.parse(row?.report_json ?? '{}')).windows.length, 3);
    } finally {
      await store.close();
    }
  });

  test('monitoring again keeps the one open alert (no duplicate); a remainder under half a window joins the next', async () => {
    const r = await cli(['monitor', 'wine', '--window-rows', '50', '--format', 'json'], ws.dir);
    assert.equal(r.code, 1);
    const out = monitorRunSchema.parse(JSON.parse(r.stdout));
    // 120 rows by 50, newest last: 20 + 50 + 50, and the oldest 20 are too few to judge alone.
    assert.deepEqual(
      out.report.report.windows.map((w) => w.rows),
      [70, 50],
    );
    assert.equal(out.alertOpened, false);
    assert.equal(out.alert?.id, alertId);
    assert.equal(out.report.alertId, null);
    const alerts = await cli(['monitor', 'alerts', 'wine', '--format', 'json'], ws.dir);
    const list = alertSchema.array().parse((JSON.parse(alerts.stdout) as { alerts: unknown }).alerts);
    assert.deepEqual(
      list.map((a) => a.id),
      [alertId],
    );
  });

  test('after the alert is closed, a drifting window opens a new one and --retrain runs the pipeline, registering a challenger', async () => {
    const noReason = await cli(['monitor', 'close', String(alertId)], ws.dir);
    assert.equal(noReason.code, 2);
    const closed = await cli(['monitor', 'close', String(alertId), '--reason', 'seen', '--format', 'json'], ws.dir);
    assert.equal(closed.code, 0, closed.stderr);
    assert.equal(alertSchema.parse(JSON.parse(closed.stdout)).closedReason, 'seen');
    const r = await cli(
      ['monitor', 'wine', '--window-rows', '40', '--retrain', 'cairn.yaml', '-p', 'seed=2', '--format', 'json'],
      ws.dir,
    );
    assert.equal(r.code, 1, r.stderr);
    const out = monitorRunSchema.parse(JSON.parse(r.stdout));
    assert.equal(out.alertOpened, true);
    assert.notEqual(out.alert?.id, alertId);
    assert.ok(out.retrain);
    assert.equal(out.retrain.status, 'succeeded');
    assert.equal(out.alert?.retrainRunId, out.retrain.runId);
    const models = await cli(['models', 'show', 'wine', '--format', 'json'], ws.dir);
    const detail = JSON.parse(models.stdout) as {
      aliases: Record<string, number>;
      versions: Array<{ version: number; runId: number }>;
    };
    assert.equal(detail.aliases.challenger, 2);
    assert.equal(detail.versions.find((v) => v.version === 2)?.runId, out.retrain.runId);
  });

  test('the retrained challenger and the served version, replayed on the wine rows: classifiers get the z-test', async () => {
    const r = await cli(
      ['ab', 'replay', 'wine', '--holdout', 'wine.csv', '--label', 'target', '--champion', '1', '--format', 'json'],
      ws.dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const result = abResultSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual([result.championVersion, result.challengerVersion, result.source], [1, 2, 'replay']);
    assert.equal(result.test.method, 'two-proportion-z');
    assert.deepEqual(
      result.arms.map((a) => a.labelled),
      [178, 178],
    );
    const accuracy = result.arms.map((a) => a.metrics.accuracy ?? -1);
    assert.ok(
      accuracy.every((x) => x > 0.5 && x <= 1),
      `both models learned something: ${accuracy.join(', ')}`,
    );
    assert.equal(result.test.champion, accuracy[0]);
    assert.match(result.test.statement, /^Two-proportion z-test .*n=178\)/);
  });

  test('a model without deployments, and a window length, are explained', async () => {
    const none = await cli(['monitor', 'nothing'], ws.dir);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /nothing has no deployment/);
    const hourly = await cli(['monitor', 'wine', '--window', '1h', '--format', 'json'], ws.dir);
    const out = monitorRunSchema.parse(JSON.parse(hourly.stdout));
    assert.deepEqual(
      out.report.report.windows.map((w) => w.rows),
      [60, 60],
      'one row a minute: two hours',
    );
  });

  test("the registering pipeline's deploy.monitor block sets the per-column tests, the window and on_drift: retrain", async () => {
    // Start from no open alert (the tests above leave one open).
    const listed = await cli(['monitor', 'alerts', 'wine', '--format', 'json'], ws.dir);
    for (const a of alertSchema.array().parse((JSON.parse(listed.stdout) as { alerts: unknown }).alerts)) {
      if (a.closedAt === null)
        assert.equal((await cli(['monitor', 'close', String(a.id), '--reason', 'test'], ws.dir)).code, 0);
    }
    const block = (drift: string): string =>
      `deploy:\n  model: \${steps.train.outputs.model}\n  monitor:\n    reference: wine.csv\n    window: 1h\n    drift:\n${drift}    on_drift: retrain\n`;
    // PSI with a threshold no column reaches: nothing drifts, whatever the default test would say of the class-0 wines.
    writeFileSync(
      path.join(ws.dir, 'cairn.yaml'),
      winePipeline(40) + block('      default: { test: psi, threshold: 1000 }\n'),
    );
    const quiet = await cli(['monitor', 'wine', '--format', 'json'], ws.dir);
    assert.equal(quiet.code, 0, quiet.stderr);
    const q = monitorRunSchema.parse(JSON.parse(quiet.stdout));
    assert.deepEqual(
      q.report.report.windows.map((w) => w.rows),
      [60, 60],
      'window: 1h from the block',
    );
    assert.ok(q.report.report.features.every((f) => f.method === 'psi' && f.threshold === 1000 && !f.drifted));
    assert.equal(q.retrain, null);
    // One column with a threshold it exceeds: the window drifts, the alert opens and on_drift starts the retrain run.
    writeFileSync(
      path.join(ws.dir, 'cairn.yaml'),
      winePipeline(40) +
        block(
          '      flavanoids: { test: wasserstein, threshold: 0.0001 }\n      default: { test: psi, threshold: 1000 }\n',
        ),
    );
    const loud = await cli(['monitor', 'wine', '--share', '0.05', '--format', 'json'], ws.dir);
    assert.equal(loud.code, 1, loud.stderr);
    const l = monitorRunSchema.parse(JSON.parse(loud.stdout));
    assert.equal(l.report.report.features.find((f) => f.name === 'flavanoids')?.method, 'wasserstein');
    assert.equal(l.alertOpened, true);
    assert.equal(l.retrain?.status, 'succeeded', 'on_drift: retrain ran the pipeline without --retrain');
    assert.equal(l.alert?.retrainRunId, l.retrain?.runId);
  });
});
