import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { implementations } from '../../../runtime/src/builtins/index.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { builtinStep, commandStep, EventLog, pipelineOf, tempWorkspace } from './helpers.js';
import { forEachBackend } from '../../lib/stores.js';

forEachBackend('cache', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  before(async () => {
    ws = tempWorkspace();
    engine = new Engine(ws.dir, { parallelism: 2, store: await b.open() });
    writeFileSync(path.join(ws.dir, 'input.csv'), 'a,b\n1,2\n');
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  // Each step appends to a counter file outside its outputs, so the test sees how often it really ran.
  const p = (lr: number) =>
    pipelineOf(
      ws.dir,
      [
        commandStep('prep', 'echo prep >> runs.log; tr a-z A-Z < input.csv > prepared.csv', {
          deps: ['input.csv'],
          outs: { data: 'prepared.csv' },
        }),
        commandStep(
          'train',
          'echo train >> runs.log; mkdir -p model && cp prepared.csv model/weights.csv && echo "$CAIRN_PARAM_LR" > model/lr.txt',
          {
            needs: ['prep'],
            deps: ['prepared.csv'],
            outs: { model: 'model' },
            params: ['lr'],
          },
        ),
        commandStep('report', 'echo report >> runs.log; ls model > report.txt; echo \'{"acc": 0.5}\' > m.json', {
          needs: ['train'],
          deps: ['model'],
          outs: { r: 'report.txt' },
          metrics: ['m.json'],
        }),
      ],
      { lr: { value: lr, type: 'float' } },
    );
  const ran = () => {
    const file = path.join(ws.dir, 'runs.log');
    const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    rmSync(file, { force: true });
    return lines;
  };

  test('first run misses, second run hits every step and says so', async () => {
    const first = await engine.run(p(0.1));
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
    assert.deepEqual(ran(), ['prep', 'train', 'report']);
    const log = new EventLog();
    const second = await engine.run(p(0.1), {}, log.listener);
    assert.equal(second.status, 'succeeded');
    assert.deepEqual(ran(), []);
    assert.ok(Object.values(second.steps).every((s) => s.cacheHit));
    assert.ok(
      log.events.some(
        (e) =>
          e.type === 'progress' && e.step === 'train' && e.cacheHit === true && e.message === 'restored from cache',
      ),
    );
    const detail = await engine.store.runs.detail(second.runId);
    assert.ok(detail?.steps.every((s) => s.cacheHit && s.outputs.length > 0));
    assert.equal(detail?.metrics.acc, 0.5, 'a hit carries the metrics of the run that produced it');
  });

  test('a hit restores deleted or modified outputs (files and folders) from the store', async () => {
    rmSync(path.join(ws.dir, 'model'), { recursive: true });
    writeFileSync(path.join(ws.dir, 'prepared.csv'), 'tampered');
    const again = await engine.run(p(0.1));
    assert.equal(again.status, 'succeeded');
    assert.deepEqual(ran(), []);
    assert.equal(readFileSync(path.join(ws.dir, 'prepared.csv'), 'utf8'), 'A,B\n1,2\n');
    assert.equal(readFileSync(path.join(ws.dir, 'model', 'lr.txt'), 'utf8'), '0.1\n');
  });

  test('a changed param invalidates the step that reads it and everything downstream', async () => {
    const changed = await engine.run(p(0.2));
    assert.deepEqual(ran(), ['train', 'report']);
    assert.equal(changed.steps.prep?.cacheHit, true);
    assert.equal(changed.steps.train?.cacheHit, false);
    const back = await engine.run(p(0.1));
    assert.deepEqual(ran(), [], 'the earlier params are still cached');
    assert.equal(back.status, 'succeeded');
  });

  test('a changed dependency file invalidates; --force reruns; cache: false always runs', async () => {
    writeFileSync(path.join(ws.dir, 'input.csv'), 'a,b\n3,4\n');
    await engine.run(p(0.1));
    assert.deepEqual(ran(), ['prep', 'train', 'report']);
    await engine.run(p(0.1), { force: true });
    assert.deepEqual(ran(), ['prep', 'train', 'report']);
    const uncached = pipelineOf(ws.dir, [commandStep('fresh', 'echo fresh >> runs.log', { cache: false })]);
    await engine.run(uncached);
    await engine.run(uncached);
    assert.deepEqual(ran(), ['fresh', 'fresh']);
  });

  test('a corrupt object is detected on restore, removed, and the step runs again', async () => {
    const detail = await engine.store.runs.detail((await engine.run(p(0.1))).runId);
    ran();
    const hash = detail?.steps.find((s) => s.step === 'prep')?.outputs[0]?.hash ?? '';
    const object = engine.objects.pathOf(hash);
    chmodSync(object, 0o644);
    writeFileSync(object, 'bit rot');
    rmSync(path.join(ws.dir, 'prepared.csv'));
    const log = new EventLog();
    const outcome = await engine.run(p(0.1), {}, log.listener);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(ran(), ['prep']);
    assert.match(log.logLines('prep').join('\n'), /cache entry unusable \(object .* is corrupt/);
    await engine.objects.verify(hash);
  });

  test('built-in steps: version and options are in the key; outputs, metrics and tags are recorded', async () => {
    const calls: string[] = [];
    const previous = implementations.get('data.load');
    implementations.set('data.load', async (ctx) => {
      calls.push(String(ctx.options.path));
      mkdirSync(path.dirname(ctx.outputs.data ?? ''), { recursive: true });
      writeFileSync(ctx.outputs.data ?? '', readFileSync(String(ctx.options.path)));
      writeFileSync(ctx.outputs.schema ?? '', '{}');
      ctx.metric('rows', 1);
      ctx.tag('backend', 'test-backend');
      ctx.log('loaded');
      return Promise.resolve();
    });
    try {
      const step = (columns?: string[]) =>
        builtinStep(
          'load',
          'data.load',
          { path: 'input.csv', format: 'auto', ...(columns ? { columns } : {}) },
          { outs: { data: '.cairn/out/load/data.csv', schema: '.cairn/out/load/schema.json' } },
        );
      const first = await engine.run(pipelineOf(ws.dir, [step()]));
      assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
      assert.deepEqual(calls, [path.join(ws.dir, 'input.csv')], 'input options arrive as absolute paths');
      const summary = await engine.store.runs.detail(first.runId);
      assert.equal(summary?.backend, 'test-backend');
      assert.equal(summary?.metrics.rows, 1);
      assert.equal((await engine.run(pipelineOf(ws.dir, [step()]))).steps.load?.cacheHit, true);
      assert.equal((await engine.run(pipelineOf(ws.dir, [step(['a'])]))).steps.load?.cacheHit, false);
      assert.equal(calls.length, 2);
    } finally {
      if (previous) implementations.set('data.load', previous);
      else implementations.delete('data.load');
    }
  });

  test('a built-in without an implementation fails clearly', async () => {
    const previous = implementations.get('train.popularity');
    implementations.delete('train.popularity');
    try {
      const outcome = await engine.run(
        pipelineOf(ws.dir, [
          builtinStep(
            'pop',
            'train.popularity',
            { ratings: 'input.csv' },
            { outs: { model: '.cairn/out/pop/model.json' } },
          ),
        ]),
      );
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.steps.pop?.error ?? '', /built-in 'train.popularity' has no implementation/);
    } finally {
      if (previous) implementations.set('train.popularity', previous);
    }
  });

  test('gc keeps referenced objects and removes orphans and dead temp files', async () => {
    const orphan = await engine.objects.putBytes('nobody refers to me');
    mkdirSync(engine.objects.tmpDir, { recursive: true });
    writeFileSync(path.join(engine.objects.tmpDir, '999999999-dead'), 'half');
    const before = (await engine.objects.list()).length;
    const { collectGarbage } = await import('../../../runtime/src/cas/gc.js');
    const result = await collectGarbage(engine.store, engine.objects, false);
    assert.deepEqual(result.removed, [orphan]);
    assert.equal(result.tempFiles, 1);
    assert.equal((await engine.objects.list()).length, before - 1);
    assert.deepEqual(readdirSync(engine.objects.tmpDir), []);
    // Everything a run recorded can still be restored.
    rmSync(path.join(ws.dir, 'model'), { recursive: true });
    assert.equal((await engine.run(p(0.1))).steps.train?.cacheHit, true);
    assert.ok(existsSync(path.join(ws.dir, 'model', 'weights.csv')));
  });
});
