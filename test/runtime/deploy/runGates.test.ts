import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runDetailSchema, type GateResult } from '@cairn/protocol';
import '../../../runtime/src/builtins/all.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { checkGates, promote } from '../../../runtime/src/registry/gates.js';
import { allMigrations, migrate } from '../../../runtime/src/store/migrations.js';
import { Store } from '../../../runtime/src/store/store.js';
import { commandStep, pipelineOf, tempWorkspace } from '../engine/helpers.js';
import { cli, gatedRecsPipeline } from './fixture.js';

// The evaluation gate reads the gates a run stored when it started (runs.gates_json, migration 6), not the pipeline
// file as it is later; runs recorded before fall back to the file and say so.

function ratings(shift: number): string {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 10; u++) for (let m = 1; m <= 6; m++) lines.push(`${u},${100 + m},${1 + ((u * m + shift) % 5)}`);
  return lines.join('\n') + '\n';
}

const gatedFile = (max: number) =>
  `version: 1\nname: test\nsteps:\n  evaluate:\n    run: echo "::cairn-metric rmse=0.9137"\n    gate:\n      rmse: { max: ${max} }\n`;
const ungatedFile = 'version: 1\nname: test\nsteps:\n  evaluate:\n    run: echo "::cairn-metric rmse=0.9137"\n';

describe('evaluation gates stored with the run', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let ctx: { store: Engine['store']; objects: Engine['objects']; workspace: string };
  const runIds: Record<'passed' | 'failed' | 'partial' | 'cached', number> = {
    passed: 0,
    failed: 0,
    partial: 0,
    cached: 0,
  };
  const pipeline = (maxRmse: number, registerNeedsEvaluate: boolean) =>
    gatedRecsPipeline(ws.dir, maxRmse, registerNeedsEvaluate);
  const evaluation = async (version: number): Promise<GateResult> => {
    const g = (await checkGates(ctx, 'recs', version)).gates.find((x) => x.gate === 'evaluation');
    assert.ok(g);
    return g;
  };
  // Versions here have no card: the card gates fail for each, so promotions override them and only evaluation decides.
  const promoteToProduction = (version: number) =>
    promote(ctx, 'recs', version, 'production', {
      actor: 'test',
      override: ['card', 'card-metrics'],
      reason: 'cards are out of scope of this test',
    });

  before(async () => {
    ws = tempWorkspace('cairn-run-gates-');
    engine = new Engine(ws.dir, { parallelism: 2 });
    ctx = { store: engine.store, objects: engine.objects, workspace: ws.dir };
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), gatedFile(1));
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(0));
    const passed = await engine.run(pipeline(1, true)); // v1
    assert.equal(passed.status, 'succeeded');
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(1));
    const failed = await engine.run(pipeline(0.5, false)); // v2: its evaluate step failed its gate
    assert.equal(failed.status, 'failed');
    assert.equal(failed.steps.evaluate?.status, 'failed');
    const partial = await engine.run(pipeline(1, true), { step: 'register', force: true }); // v3: the gated step was not selected
    assert.equal(partial.status, 'succeeded');
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(0));
    const cached = await engine.run(pipeline(1, true)); // the inputs of run 1: train and evaluate are cache hits
    assert.equal(cached.steps.evaluate?.cacheHit, true);
    Object.assign(runIds, { passed: passed.runId, failed: failed.runId, partial: partial.runId, cached: cached.runId });
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('a run stores the gate of every gated step of its pipeline, cached or not selected', async () => {
    for (const id of Object.values(runIds))
      assert.ok((await engine.store.runs.detail(id))?.gates?.evaluate, `run ${id}`);
    assert.deepEqual((await engine.store.runs.detail(runIds.passed))?.gates, { evaluate: { rmse: { max: 1 } } });
    assert.deepEqual((await engine.store.runs.detail(runIds.failed))?.gates, { evaluate: { rmse: { max: 0.5 } } });
    assert.deepEqual(
      (await engine.store.runs.detail(runIds.cached))?.gates,
      { evaluate: { rmse: { max: 1 } } },
      'the cached step still counts',
    );
    assert.deepEqual(
      (await engine.store.runs.detail(runIds.partial))?.steps.map((s) => s.step),
      ['register'],
    );
  });

  test('a pipeline without gates stores an empty record', async () => {
    const r = await engine.run(pipelineOf(ws.dir, [commandStep('hello', 'echo hi')], {}, 'plain'));
    assert.equal(r.status, 'succeeded');
    assert.deepEqual((await engine.store.runs.detail(r.runId))?.gates, {});
  });

  test('a gate tightened since the cached result fails the step restored from the cache (the gate is not in the cache key)', async () => {
    const r = await engine.run(pipeline(0.5, true)); // the inputs of run 1 again
    assert.equal(r.status, 'failed');
    assert.match(r.steps.evaluate?.error ?? '', /^gate failed: rmse = 0\.9137 is above the maximum 0\.5$/);
    assert.deepEqual((await engine.store.runs.detail(r.runId))?.gates, { evaluate: { rmse: { max: 0.5 } } });
  });

  test('dropping, loosening or deleting the gate in the file changes nothing about the run that passed it', async () => {
    const expected = new RegExp(
      `run ${runIds.passed} passed every gate of cairn\\.yaml as it was when run ${runIds.passed} started: evaluate: rmse=0\\.9137 ≤ 1$`,
    );
    for (const text of [ungatedFile, gatedFile(5), null]) {
      if (text === null) rmSync(path.join(ws.dir, 'cairn.yaml'));
      else writeFileSync(path.join(ws.dir, 'cairn.yaml'), text);
      const g = await evaluation(1);
      assert.equal(g.state, 'pass');
      assert.match(g.detail, expected);
    }
    const ok = await promoteToProduction(1);
    assert.equal(ok.move?.version, 1);
  });

  test('a run that failed its gate still fails the evaluation gate, and blocks promotion, after the gate is loosened', async () => {
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), gatedFile(5));
    const g = await evaluation(2);
    assert.equal(g.state, 'fail');
    assert.match(
      g.detail,
      new RegExp(`^run ${runIds.failed}: step evaluate: gate failed: rmse = 0\\.9137 is above the maximum 0\\.5`),
    );
    const refused = await promoteToProduction(2);
    assert.equal(refused.move, undefined);
    assert.equal(refused.gates.gates.find((x) => x.gate === 'evaluation')?.state, 'fail');
  });

  test('a run that did not run its gated step fails the evaluation gate after the gate is dropped from the file', async () => {
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), ungatedFile);
    const g = await evaluation(3);
    assert.equal(g.state, 'fail');
    assert.match(
      g.detail,
      new RegExp(
        `^run ${runIds.partial} did not pass the gated step evaluate \\(not in the run\\) of cairn\\.yaml as it was when run ${runIds.partial} started`,
      ),
    );
  });

  test("cairn runs show lists the run's gates (text and JSON)", async () => {
    const json = await cli(['runs', 'show', String(runIds.failed), '--format', 'json'], ws.dir);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(runDetailSchema.parse(JSON.parse(json.stdout)).gates, { evaluate: { rmse: { max: 0.5 } } });
    const text = await cli(['runs', 'show', String(runIds.failed)], ws.dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^GATED STEP\s+METRIC\s+MIN\s+MAX\nevaluate\s+rmse\s+0\.5$/m);
  });

  test('a run recorded before gates were stored falls back to the pipeline file as it is now, and says so', async () => {
    engine.store.db.prepare('UPDATE runs SET gates_json = NULL WHERE id = ?').run(runIds.passed);
    const note = `run ${runIds.passed} predates stored gates: read from cairn\\.yaml as it is now`;
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), gatedFile(2));
    let g = await evaluation(1);
    assert.equal(g.state, 'pass');
    assert.match(g.detail, new RegExp(`passed every gate of cairn\\.yaml \\(${note}\\): evaluate: rmse=0\\.9137 ≤ 2$`));
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), ungatedFile);
    g = await evaluation(1);
    assert.equal(g.state, 'pass');
    assert.match(g.detail, new RegExp(`^no evaluation gate defined in cairn\\.yaml \\(${note}\\)$`));
    rmSync(path.join(ws.dir, 'cairn.yaml'));
    g = await evaluation(1);
    assert.match(g.detail, new RegExp(`${note}, but it cannot be read`));

    const json = await cli(['runs', 'show', String(runIds.passed), '--format', 'json'], ws.dir);
    assert.equal(runDetailSchema.parse(JSON.parse(json.stdout)).gates, null);
    const text = await cli(['runs', 'show', String(runIds.passed)], ws.dir);
    assert.match(
      text.stdout,
      new RegExp(`\\(no evaluation gates stored: run ${runIds.passed} predates stored gates\\)`),
    );
  });
});

test('migration 6 on a version-5 store keeps its runs; they read as recorded before gates were stored', async () => {
  const ws = tempWorkspace('cairn-migrate-6-');
  try {
    const file = path.join(ws.dir, 'cairn.db');
    const v5 = new Database(file);
    migrate(
      v5,
      allMigrations().filter((m) => m.version <= 5),
    );
    assert.equal(v5.pragma('user_version', { simple: true }), 5);
    v5.prepare("INSERT INTO pipelines (id, name, file, created_at) VALUES (1, 'old', 'cairn.yaml', 0)").run();
    v5.prepare(
      "INSERT INTO runs (id, pipeline_id, status, started_at, ended_at, platform, cairn_version, metrics_json) VALUES (7, 1, 'succeeded', 0, 10, 'test', '0.1.0', '{\"rmse\":0.9}')",
    ).run();
    v5.prepare("INSERT INTO step_runs (run_id, step, status) VALUES (7, 'evaluate', 'succeeded')").run();
    v5.close();
    const store = new Store(file);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), allMigrations().at(-1)?.version);
      const run = await store.runs.detail(7);
      assert.ok(run);
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(run.metrics, { rmse: 0.9 });
      assert.deepEqual(
        run.steps.map((s) => [s.step, s.status]),
        [['evaluate', 'succeeded']],
      );
      assert.equal(run.gates, null);
    } finally {
      await store.close();
    }
  } finally {
    ws.cleanup();
  }
});
