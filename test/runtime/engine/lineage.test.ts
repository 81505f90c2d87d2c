import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { lineage } from '../../../runtime/src/lineage/lineage.js';
import { commandStep, pipelineOf, tempWorkspace } from './helpers.js';
import { forEachBackend } from '../../lib/stores.js';

forEachBackend('lineage', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runId = 0;
  before(async () => {
    ws = tempWorkspace('cairn-lineage-');
    engine = new Engine(ws.dir, { parallelism: 2, store: await b.open() });
    writeFileSync(path.join(ws.dir, 'raw.csv'), 'a\n1\n');
    const p = pipelineOf(ws.dir, [
      commandStep('clean', 'sort raw.csv > clean.csv', { deps: ['raw.csv'], outs: { data: 'clean.csv' } }),
      commandStep('train', 'wc -l clean.csv > model.bin', {
        needs: ['clean'],
        deps: ['clean.csv'],
        outs: { model: 'model.bin' },
      }),
    ]);
    runId = (await engine.run(p)).runId;
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('a run: data → step → artifact → step → artifact', async () => {
    const g = await lineage(engine.store, ws.dir, `run:${runId}`);
    const byPath = (p: string) => g.nodes.find((n) => n.path === p);
    assert.equal(byPath('raw.csv')?.kind, 'data');
    assert.equal(byPath('clean.csv')?.kind, 'artifact');
    assert.equal(byPath('model.bin')?.kind, 'artifact');
    const steps = g.nodes.filter((n) => n.kind === 'step').map((n) => n.label);
    assert.deepEqual(steps.sort(), [`clean (run ${runId})`, `train (run ${runId})`]);
    const edge = (from: string | undefined, to: string | undefined) =>
      g.edges.some((e) => e.from === from && e.to === to);
    const clean = g.nodes.find((n) => n.kind === 'step' && n.label.startsWith('clean'))?.id;
    const train = g.nodes.find((n) => n.kind === 'step' && n.label.startsWith('train'))?.id;
    assert.ok(
      edge(byPath('raw.csv')?.id, clean) &&
        edge(clean, byPath('clean.csv')?.id) &&
        edge(byPath('clean.csv')?.id, train) &&
        edge(train, byPath('model.bin')?.id),
    );
    assert.ok(g.nodes.every((n) => !n.stale));
  });

  test('a model registered from an artifact, deployed: upstream to the raw data', async () => {
    const model =
      (await engine.store.runs.detail(runId))?.steps.find((s) => s.step === 'train')?.outputs[0]?.hash ?? '';
    await engine.store.artifacts.addEdge(`artifact:${model}`, 'model:recs@1', runId);
    await engine.store.artifacts.addEdge('model:recs@1', 'deployment:1');
    const g = await lineage(engine.store, ws.dir, 'model:recs');
    assert.deepEqual(g.nodes.map((n) => n.kind).sort(), [
      'artifact',
      'artifact',
      'data',
      'deployment',
      'model',
      'step',
      'step',
    ]);
    assert.ok(g.edges.some((e) => e.from === 'model:recs@1' && e.to === 'deployment:1'));
    await assert.rejects(lineage(engine.store, ws.dir, 'model:other'), /no lineage recorded for model:other/);
  });

  test('an artifact by hash prefix; a changed input makes everything downstream stale', async () => {
    const clean =
      (await engine.store.runs.detail(runId))?.steps.find((s) => s.step === 'clean')?.outputs[0]?.hash ?? '';
    writeFileSync(path.join(ws.dir, 'raw.csv'), 'a\n2\n');
    const g = await lineage(engine.store, ws.dir, clean.slice(0, 10));
    const stale = Object.fromEntries(g.nodes.map((n) => [n.path ?? n.label, n.stale]));
    assert.equal(stale['raw.csv'], true);
    assert.equal(stale['clean.csv'], true);
    assert.equal(stale['model.bin'], true);
    assert.match(
      g.nodes.find((n) => n.kind === 'step' && n.label.startsWith('clean'))?.staleReason ?? '',
      /input raw.csv changed since this step ran/,
    );
    await assert.rejects(lineage(engine.store, ws.dir, '424242'), /run 424242 does not exist/);
  });
});
