import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  GetModelRequest,
  ListModelsRequest,
  RollbackAliasRequest,
  SetAliasRequest,
  modelDetailSchema,
  modelListSchema,
  type ModelDetail,
} from '@cairn/protocol';
import '../../../runtime/src/builtins/all.js';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import { main } from '../../../runtime/src/cli/main.js';
import { collectGarbage } from '../../../runtime/src/cas/gc.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { lineage } from '../../../runtime/src/lineage/lineage.js';
import { AliasMovedError, ModelRegistry, RegistryError } from '../../../runtime/src/registry/registry.js';
import { connectRuntime } from '../../lib/rpcRuntime.js';
import { builtinStep, commandStep, pipelineOf, tempWorkspace } from './helpers.js';
import { forEachBackend } from '../../lib/stores.js';

// The model registry against a real store: a pipeline trains a tiny popularity model, reports a metric and registers
// it with model.register; then versions, aliases, history and rollback through the registry, the CLI and JSON-RPC.

function ratings(shift: number): string {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 12; u++)
    for (let m = 1; m <= 8; m++) if ((u * m) % 3 !== 0) lines.push(`${u},${100 + m},${1 + ((u + m + shift) % 5)}`);
  return lines.join('\n') + '\n';
}

/** The suite's store (SQLite file or PostgreSQL URL): commands given a --workspace also get --store. */
let storeFlag: string[] = [];

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, isTty: false };
  const code = await main(args.includes('--workspace') ? [...args, ...storeFlag] : args, io);
  return { code, stdout, stderr };
}

forEachBackend('model registry', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let registry: ModelRegistry;
  const pipeline = (root: string) =>
    pipelineOf(root, [
      builtinStep(
        'train',
        'train.popularity',
        { ratings: 'ratings.csv', user: 'userId', item: 'movieId', rating: 'rating' },
        { deps: [], outs: { model: 'models/pop.json' } },
      ),
      commandStep('evaluate', 'echo "::cairn-metric rmse=0.91 precision_at_10=0.25"', {
        needs: ['train'],
        deps: ['models/pop.json'],
      }),
      // Another model's evaluation in the same run: its metrics are not this model's.
      commandStep('baseline', 'echo "::cairn-metric rmse=5 baseline_only=1"'),
      builtinStep(
        'register',
        'model.register',
        { model: 'models/pop.json', name: 'recs', card: 'MODEL_CARD.md', alias: 'challenger' },
        { needs: ['train', 'evaluate', 'baseline'] },
      ),
      // The same model under the same name from the same run: one version, not two.
      builtinStep(
        'register-again',
        'model.register',
        { model: 'models/pop.json', name: 'recs' },
        { needs: ['register'] },
      ),
    ]);
  let firstRun = 0;
  let secondRun = 0;

  before(async () => {
    ws = tempWorkspace('cairn-registry-');
    engine = new Engine(ws.dir, { parallelism: 2, store: await b.open() });
    storeFlag = ['--store', await b.location()];
    registry = new ModelRegistry(engine.store, engine.objects, ws.dir);
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(0));
    writeFileSync(path.join(ws.dir, 'MODEL_CARD.md'), '# recs\n\nA popularity baseline.\n');
    const first = await engine.run(pipeline(ws.dir));
    assert.equal(first.status, 'succeeded', first.error ?? '');
    firstRun = first.runId;
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(2));
    const second = await engine.run(pipeline(ws.dir));
    assert.equal(second.status, 'succeeded', second.error ?? '');
    secondRun = second.runId;
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('model.register in a run creates a version with its run, artifact, card and metrics snapshot', async () => {
    const m = await registry.get('recs');
    assert.equal(m.versionCount, 2, 'one version per run, the second register step of a run adds none');
    const v1 = m.versions.find((v) => v.version === 1);
    const run = await engine.store.runs.detail(firstRun);
    const trained = run?.steps.find((s) => s.step === 'train')?.outputs.find((o) => o.name === 'model');
    assert.ok(v1 && trained);
    assert.equal(v1.runId, firstRun);
    assert.equal(v1.step, 'register');
    assert.equal(
      v1.stepRunId,
      (
        await engine.store.sqlDb.get<{ id: number }>(
          "SELECT id FROM step_runs WHERE run_id = ? AND step = 'register'",
          [firstRun],
        )
      )?.id,
    );
    assert.equal(v1.artifactHash, trained.hash, 'the hash of the file the train step wrote');
    assert.equal(v1.path, 'models/pop.json');
    assert.equal(v1.cardPath, 'MODEL_CARD.md');
    assert.deepEqual(
      v1.metrics,
      { rmse: 0.91, precision_at_10: 0.25 },
      'the metrics of the steps that made and read this model only',
    );
    assert.equal(run?.metrics.rmse !== undefined, true);
    assert.ok(engine.objects.pathOf(v1.artifactHash).length > 0);
    assert.equal(
      readFileSync(engine.objects.pathOf(v1.artifactHash), 'utf8').length > 0,
      true,
      'the model is kept in the artifact store',
    );
    const v2 = m.versions.find((v) => v.version === 2);
    assert.equal(v2?.runId, secondRun);
    assert.notEqual(v2?.artifactHash, v1.artifactHash);
    assert.deepEqual(m.aliases, { challenger: 2 });
    assert.deepEqual(v2?.aliases, ['challenger']);
    assert.deepEqual(
      m.history.map((h) => [h.alias, h.fromVersion, h.toVersion, h.actor]),
      [
        ['challenger', 1, 2, `run ${secondRun} (step register)`],
        ['challenger', null, 1, `run ${firstRun} (step register)`],
      ],
    );
    assert.ok(modelDetailSchema.safeParse(m).success, 'the payload matches the protocol schema');
  });

  test('a run whose register step is a cache hit registers nothing new', async () => {
    const again = await engine.run(pipeline(ws.dir));
    assert.equal(again.status, 'succeeded');
    assert.equal(again.steps.register?.cacheHit, true);
    assert.equal((await registry.get('recs')).versionCount, 2);
  });

  test('registering is idempotent for the same run and artifact; another run gets the next version', async () => {
    const model = path.join(ws.dir, 'models', 'pop.json');
    // models/pop.json holds the second run's model now (the third run restored it from the cache).
    const base = { name: 'recs', model, runId: secondRun, stepRunId: null, step: 'manual', actor: 'test' };
    const same = await registry.register(base);
    assert.deepEqual([same.version, same.created], [2, false]);
    assert.equal((await registry.get('recs')).versionCount, 2);
    const otherRun = await registry.register({ ...base, runId: firstRun });
    assert.deepEqual(
      [otherRun.version, otherRun.created],
      [3, true],
      'the same artifact from another run is a new version',
    );
    await engine.store.sqlDb.run("DELETE FROM model_versions WHERE name = 'recs' AND version = 3");
    await engine.store.sqlDb.run("DELETE FROM lineage_edges WHERE to_id = 'model:recs@3'");
    const fresh = await registry.register({ ...base, name: 'other', runId: null });
    assert.deepEqual([fresh.version, fresh.created], [1, true]);
    const next = await registry.register({ ...base, name: 'other', runId: null });
    assert.equal(next.version, 2, 'without a run there is nothing to be idempotent on');
    await assert.rejects(
      registry.register({ ...base, name: 'bad name!' }),
      (e: unknown) => e instanceof RegistryError && /model name 'bad name!'/.test(e.message),
    );
    await assert.rejects(
      registry.register({ ...base, alias: '7' }),
      (e: unknown) => e instanceof RegistryError && /alias '7'/.test(e.message),
    );
  });

  test('cairn lineage model:recs reaches the training data through the registered artifact', async () => {
    const g = await lineage(engine.store, ws.dir, 'model:recs');
    const ids = g.nodes.map((n) => n.id);
    assert.ok(ids.includes('model:recs@1') && ids.includes('model:recs@2'), ids.join(' '));
    const v1 = (await registry.get('recs')).versions.find((v) => v.version === 1);
    assert.ok(g.edges.some((e) => e.from.startsWith(`artifact:${v1?.artifactHash}`) && e.to === 'model:recs@1'));
    assert.ok(
      g.nodes.some((n) => n.kind === 'step' && n.label.startsWith('train')),
      'the producing train step',
    );
    assert.ok(
      g.nodes.some((n) => n.kind === 'data' && n.path === 'ratings.csv'),
      'the raw data',
    );
    const one = await lineage(engine.store, ws.dir, 'model:recs@2');
    assert.ok(one.nodes.some((n) => n.id === 'model:recs@2') && !one.nodes.some((n) => n.id === 'model:recs@1'));
    const fromCli = await cli(['lineage', 'model:recs@1', '--workspace', ws.dir], ws.dir);
    assert.equal(fromCli.code, 0, fromCli.stderr);
    assert.ok(
      (JSON.parse(fromCli.stdout) as { nodes: Array<{ id: string }> }).nodes.some((n) => n.id === 'model:recs@1'),
    );
  });

  test('aliases move with history; rollback steps back one move at a time', async () => {
    assert.deepEqual(await registry.setAlias('recs', 'production', 1, 'ana', 'first release'), {
      name: 'recs',
      alias: 'production',
      version: 1,
      previous: null,
      changed: true,
    });
    assert.deepEqual(await registry.setAlias('recs', 'production', 'challenger', 'ana', 'promote the challenger'), {
      name: 'recs',
      alias: 'production',
      version: 2,
      previous: 1,
      changed: true,
    });
    assert.equal((await registry.setAlias('recs', 'production', 2, 'ana')).changed, false, 'no move, no history entry');
    assert.deepEqual(await registry.rollback('recs', 'production', 'bob', 'latency regression'), {
      name: 'recs',
      alias: 'production',
      version: 1,
      previous: 2,
      changed: true,
    });
    await assert.rejects(
      registry.rollback('recs', 'production', 'bob'),
      (e: unknown) => e instanceof RegistryError && e.kind === 'refused' && /no earlier version/.test(e.message),
    );
    await registry.setAlias('recs', 'production', 2, 'ana');
    const history = (await registry.get('recs')).history.filter((h) => h.alias === 'production');
    assert.deepEqual(
      history.map((h) => [h.fromVersion, h.toVersion, h.action, h.actor, h.reason]),
      [
        [1, 2, 'set', 'ana', null],
        [2, 1, 'rollback', 'bob', 'latency regression'],
        [1, 2, 'set', 'ana', 'promote the challenger'],
        [null, 1, 'set', 'ana', 'first release'],
      ],
    );
    assert.equal(history[1]?.undoes, history[2]?.id);
    assert.equal((await registry.rollback('recs', 'production', 'bob')).version, 1);
    assert.deepEqual(
      (await Promise.all(['recs', 'recs@1', 'recs@production', 'recs@challenger'].map((r) => registry.find(r)))).map(
        (v) => v.version,
      ),
      [2, 1, 1, 2],
    );
    await assert.rejects(registry.find('recs@nope'), /has no alias 'nope'/);
    await assert.rejects(registry.find('recs@5'), /has no version 5/);
    await assert.rejects(
      registry.setAlias('recs', 'production', 9, 'ana'),
      /model 'recs' has no version 9 \(its versions are 1 to 2\)/,
    );
    await assert.rejects(
      registry.setAlias('nope', 'production', 1, 'ana'),
      /no model named 'nope' is registered; registered models: other, recs/,
    );
    await assert.rejects(
      registry.setAlias('recs', 'production', 'staging', 'ana'),
      /model 'recs' has no alias 'staging' \(its aliases: challenger, production\)/,
    );
  });

  test('cairn models list|show|alias|rollback: output, exit codes 0/1/2', async () => {
    const list = await cli(['models', 'list', '--workspace', ws.dir, '--format', 'json'], ws.dir);
    assert.equal(list.code, 0, list.stderr);
    const models = modelListSchema.parse(JSON.parse(list.stdout)).models;
    assert.deepEqual(
      models.map((m) => [m.name, m.latestVersion]),
      [
        ['other', 2],
        ['recs', 2],
      ],
    );
    const text = await cli(['models', 'list', '--workspace', ws.dir], ws.dir);
    assert.match(text.stdout, /^NAME\s+LATEST\s+VERSIONS\s+ALIASES/);
    assert.match(text.stdout, /recs\s+2\s+2\s+challenger=2 production=1/);

    const show = await cli(['models', 'show', 'recs', '--workspace', ws.dir], ws.dir);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^model recs {2}2 versions, latest 2/);
    assert.match(show.stdout, /1\s+production\s+\d+\s+register\s+[0-9a-f]{12}\s+models\/pop\.json\s+MODEL_CARD\.md/);
    assert.match(show.stdout, /production\s+2 → 1 \(rollback\)\s+bob/);

    const moved = await cli(
      ['models', 'alias', 'recs', 'production', '2', '--reason', 'fixed', '--workspace', ws.dir, '--format', 'json'],
      ws.dir,
    );
    assert.equal(moved.code, 0, moved.stderr);
    assert.deepEqual(JSON.parse(moved.stdout), {
      name: 'recs',
      alias: 'production',
      version: 2,
      previous: 1,
      changed: true,
    });
    const back = await cli(['models', 'rollback', 'recs', 'production', '--workspace', ws.dir], ws.dir);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, 'recs@production: version 2 → version 1\n');
    const detail = JSON.parse(
      (await cli(['models', 'show', 'recs', '--workspace', ws.dir, '--format', 'json'], ws.dir)).stdout,
    ) as ModelDetail;
    assert.equal(detail.history[1]?.reason, 'fixed');

    const failures: Array<[string[], number, RegExp]> = [
      [['models', 'show', 'nope'], 1, /no model named 'nope' is registered; registered models: other, recs/],
      [['models', 'alias', 'recs', 'production', '12'], 1, /has no version 12/],
      [['models', 'rollback', 'recs', 'staging'], 1, /has no alias 'staging' to roll back/],
      [['models', 'alias', 'recs', '3rd', '1'], 2, /alias '3rd'/],
      [['models', 'alias', 'recs', 'production'], 2, /takes NAME ALIAS VERSION/],
      [['models', 'retire', 'recs'], 2, /unknown sub-command 'retire'/],
      [['models', 'list', '--reason', 'x'], 2, /--reason goes with alias, rollback or promote/],
    ];
    for (const [args, code, message] of failures) {
      const r = await cli([...args, '--workspace', ws.dir], ws.dir);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const empty = tempWorkspace('cairn-registry-empty-');
    try {
      const none = await cli(['models', 'list', '--format', 'json'], empty.dir);
      assert.deepEqual([none.code, JSON.parse(none.stdout)], [0, { models: [] }]);
      const missing = await cli(['models', 'show', 'recs'], empty.dir);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no runs recorded/);
    } finally {
      empty.cleanup();
    }
  });

  test('JSON-RPC: runtime/listModels, getModel, setAlias, rollbackAlias', async () => {
    const runtime = connectRuntime(engine);
    const client = runtime.client;
    try {
      const list = modelListSchema.parse(await client.sendRequest(ListModelsRequest.type, {}));
      assert.deepEqual(
        list.models.map((m) => m.name),
        ['other', 'recs'],
      );
      const model = modelDetailSchema.parse(await client.sendRequest(GetModelRequest.type, { name: 'recs' }));
      assert.equal(model.aliases.production, 1);
      const moved = await client.sendRequest(SetAliasRequest.type, {
        name: 'recs',
        alias: 'champion',
        version: 'production',
        reason: 'start',
        actor: 'editor-test',
      });
      assert.deepEqual(moved, { name: 'recs', alias: 'champion', version: 1, previous: null, changed: true });
      await client.sendRequest(SetAliasRequest.type, { name: 'recs', alias: 'champion', version: 2 });
      const back = await client.sendRequest(RollbackAliasRequest.type, { name: 'recs', alias: 'champion' });
      assert.equal(back.version, 1);
      await assert.rejects(
        client.sendRequest(GetModelRequest.type, { name: 'nope' }),
        (e: { code?: number; message?: string }) => e.code === -32001 && /no model named 'nope'/.test(e.message ?? ''),
      );
      await assert.rejects(
        client.sendRequest(SetAliasRequest.type, { name: 'recs', alias: 'champion', version: 40 }),
        (e: { code?: number }) => e.code === -32001,
      );
      await assert.rejects(
        client.sendRequest(RollbackAliasRequest.type, { name: 'recs', alias: 'champion' }),
        (e: { code?: number }) => e.code === -32002,
      );
      await assert.rejects(
        client.sendRequest(SetAliasRequest.method, { name: 'recs', alias: '1x', version: 1 }),
        (e: { code?: number; message?: string }) => e.code === -32602 && /alias/.test(e.message ?? ''),
      );
    } finally {
      await runtime.close();
    }
  });

  test('the snapshot holds the metrics of the training step and of the evaluation of its ONNX export', async () => {
    const p = pipelineOf(ws.dir, [
      builtinStep(
        'mf',
        'train.matrix-factorization',
        {
          ratings: 'ratings.csv',
          user: 'userId',
          item: 'movieId',
          rating: 'rating',
          factors: 2,
          epochs: 1,
          batch_size: 64,
          seed: 1,
          valid_fraction: 0.2,
        },
        { outs: { model: 'models/mf.json', onnx: 'models/mf.onnx' } },
      ),
      commandStep('evaluate-onnx', 'echo "::cairn-metric rmse=1.23"', { needs: ['mf'], deps: ['models/mf.onnx'] }),
      commandStep('unrelated', 'echo "::cairn-metric unrelated=1"'),
      builtinStep(
        'register',
        'model.register',
        { model: 'models/mf.json', name: 'mf' },
        { needs: ['evaluate-onnx', 'unrelated'] },
      ),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'succeeded', outcome.error ?? '');
    const v = (await registry.get('mf')).versions[0];
    assert.equal(v?.metrics.rmse, 1.23);
    assert.ok(
      v && Object.keys(v.metrics).some((k) => k.startsWith('val_')),
      `training metrics: ${JSON.stringify(v?.metrics)}`,
    );
    assert.equal(v?.metrics.unrelated, undefined);
  });

  test('deleting the run that registered a version keeps the version, its metrics and lineage', async () => {
    assert.equal(await engine.store.runs.deleteRun(firstRun), true);
    const v1 = (await registry.get('recs')).versions.find((v) => v.version === 1);
    assert.deepEqual([v1?.runId, v1?.stepRunId, v1?.metrics.rmse], [null, null, 0.91]);
    const g = await lineage(engine.store, ws.dir, 'model:recs@1');
    assert.ok(g.edges.some((e) => e.to === 'model:recs@1' && e.from.startsWith(`artifact:${v1?.artifactHash}`)));
    // gc keeps a registered version's model even when no remaining run points at it.
    await collectGarbage(engine.store, engine.objects, false);
    assert.ok(v1 && (await engine.objects.has(v1.artifactHash)), 'the registered model survives cairn gc');
  });

  test('a failing model.register fails its step with a clear message; nothing is registered', async () => {
    writeFileSync(path.join(ws.dir, 'notamodel.json'), '{"hello": 1}\n');
    const bad = pipelineOf(ws.dir, [
      builtinStep('register', 'model.register', { model: 'notamodel.json', name: 'broken' }),
    ]);
    const outcome = await engine.run(bad);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.steps.register?.error ?? '', /model\.register: .*notamodel\.json/);
    await assert.rejects(registry.get('broken'), /no model named 'broken'/);
  });

  test('two racing moves of one alias from the same read: exactly one wins, the other is told to reload', async () => {
    const before = (await registry.get('recs')).aliases.race ?? null;
    const [a, b] = await Promise.allSettled([
      registry.setAlias('recs', 'race', 1, 'ana', null, before),
      registry.setAlias('recs', 'race', 2, 'bob', null, before),
    ]);
    const won = [a, b].filter((r) => r.status === 'fulfilled');
    const lost = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0]?.reason instanceof AliasMovedError);
    assert.match(String((lost[0]?.reason as Error).message), /alias 'race' of model 'recs' moved meanwhile .*reload/);
    const history = (await registry.get('recs')).history.filter((h) => h.alias === 'race');
    assert.equal(history.length, 1, 'the losing move left nothing behind');
  });
});
