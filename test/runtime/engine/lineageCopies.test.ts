import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { LineageGraph } from '@cairn/protocol';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { artifactNodeId, lineage, parseArtifactNodeId } from '../../../runtime/src/lineage/lineage.js';
import { commandStep, pipelineOf, tempWorkspace } from './helpers.js';
import { forEachBackend } from '../../lib/stores.js';

/** Kahn's algorithm: the nodes left over sit on a cycle (none in a lineage graph). */
function nodesOnCycles(g: LineageGraph): string[] {
  const indegree = new Map(g.nodes.map((n) => [n.id, 0]));
  for (const e of g.edges) indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  const queue = [...indegree].filter(([, d]) => d === 0).map(([id]) => id);
  while (queue.length > 0) {
    const id = queue.pop() ?? '';
    indegree.delete(id);
    for (const e of g.edges) {
      if (e.from !== id) continue;
      const d = (indegree.get(e.to) ?? 0) - 1;
      indegree.set(e.to, d);
      if (d === 0) queue.push(e.to);
    }
  }
  return [...indegree.keys()];
}

// Steps whose output is byte-identical to their input: a copy, and a validation that drops nothing.
forEachBackend('lineage of byte-identical files', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runId = 0;
  let rawHash = '';
  before(async () => {
    ws = tempWorkspace('cairn-lineage-copies-');
    engine = new Engine(ws.dir, { parallelism: 2, store: await b.open() });
    writeFileSync(path.join(ws.dir, 'raw.csv'), 'a,b\n1,2\n3,4\n');
    const p = pipelineOf(ws.dir, [
      commandStep('copy', 'cp raw.csv copy.csv', { deps: ['raw.csv'], outs: { data: 'copy.csv' } }),
      commandStep('validate', 'cat copy.csv > valid.csv', {
        needs: ['copy'],
        deps: ['copy.csv'],
        outs: { data: 'valid.csv' },
      }),
      commandStep('train', 'wc -l valid.csv > model.bin', {
        needs: ['validate'],
        deps: ['valid.csv'],
        outs: { model: 'model.bin' },
      }),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    runId = outcome.runId;
    rawHash = (await engine.store.runs.detail(runId))?.steps.find((s) => s.step === 'copy')?.outputs[0]?.hash ?? '';
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('a run: each file is its own node, the graph has no cycle', async () => {
    const g = await lineage(engine.store, ws.dir, `run:${runId}`);
    assert.deepEqual(nodesOnCycles(g), []);
    const files = g.nodes.filter((n) => n.kind === 'data' || n.kind === 'artifact');
    assert.deepEqual(files.map((n) => n.path).sort(), ['copy.csv', 'model.bin', 'raw.csv', 'valid.csv']);
    const same = files.filter((n) => n.hash === rawHash);
    assert.equal(same.length, 3, 'raw.csv, copy.csv and valid.csv hold the same bytes and stay three nodes');
    const byPath = (p: string) => files.find((n) => n.path === p);
    assert.equal(byPath('raw.csv')?.kind, 'data', 'no step wrote raw.csv (a step wrote the same bytes elsewhere)');
    assert.equal(byPath('copy.csv')?.kind, 'artifact');
    assert.equal(byPath('copy.csv')?.id, artifactNodeId(rawHash, 'copy.csv'));
    const step = (name: string) => g.nodes.find((n) => n.kind === 'step' && n.label.startsWith(`${name} (`))?.id;
    const edge = (from: string | undefined, to: string | undefined) =>
      g.edges.some((e) => e.from === from && e.to === to);
    assert.ok(edge(byPath('raw.csv')?.id, step('copy')) && edge(step('copy'), byPath('copy.csv')?.id));
    assert.ok(edge(byPath('copy.csv')?.id, step('validate')) && edge(step('validate'), byPath('valid.csv')?.id));
    assert.ok(
      !edge(step('copy'), byPath('raw.csv')?.id) && !edge(byPath('copy.csv')?.id, step('copy')),
      'a step never feeds itself',
    );
  });

  test('a hash (or artifact:<hash>) names every file with that content; artifact:<hash>:<path> names one', async () => {
    for (const target of [rawHash, `artifact:${rawHash}`, rawHash.slice(0, 10)]) {
      const g = await lineage(engine.store, ws.dir, target);
      assert.deepEqual(nodesOnCycles(g), [], target);
      const paths = g.nodes.filter((n) => n.hash === rawHash).map((n) => n.path);
      assert.deepEqual(paths.sort(), ['copy.csv', 'raw.csv', 'valid.csv'], target);
    }
    const one = await lineage(engine.store, ws.dir, artifactNodeId(rawHash, 'copy.csv'));
    assert.deepEqual(nodesOnCycles(one), []);
    assert.ok(
      one.nodes.some((n) => n.path === 'raw.csv') && one.nodes.some((n) => n.path === 'model.bin'),
      'upstream to the raw data, downstream to the model',
    );
    const byPath = await lineage(engine.store, ws.dir, 'valid.csv');
    assert.ok(byPath.nodes.some((n) => n.id === artifactNodeId(rawHash, 'valid.csv')));
    await assert.rejects(
      lineage(engine.store, ws.dir, artifactNodeId(rawHash, 'other.csv')),
      /no run recorded other.csv with content/,
    );
  });

  test('an edge recorded with the hash-only id reaches the newest file with that content', async () => {
    const model =
      (await engine.store.runs.detail(runId))?.steps.find((s) => s.step === 'train')?.outputs[0]?.hash ?? '';
    await engine.store.artifacts.addEdge(`artifact:${model}`, 'model:copies@1', runId);
    const g = await lineage(engine.store, ws.dir, 'model:copies@1');
    assert.ok(
      g.edges.some((e) => e.from === artifactNodeId(model, 'model.bin') && e.to === 'model:copies@1'),
      JSON.stringify(g.edges),
    );
    assert.ok(!g.nodes.some((n) => n.id === `artifact:${model}`), 'no second node for the same file');
    assert.ok(
      g.nodes.some((n) => n.kind === 'data' && n.path === 'raw.csv'),
      'through the copies to the raw data',
    );
    assert.deepEqual(nodesOnCycles(g), []);
    // Edges may also name the file exactly.
    await engine.store.artifacts.addEdge(artifactNodeId(model, 'model.bin'), 'model:copies@2', runId);
    const exact = await lineage(engine.store, ws.dir, 'model:copies@2');
    assert.ok(exact.edges.some((e) => e.from === artifactNodeId(model, 'model.bin') && e.to === 'model:copies@2'));
  });

  test('a changed source makes its copies stale downstream', async () => {
    writeFileSync(path.join(ws.dir, 'raw.csv'), 'a,b\n1,2\n');
    const g = await lineage(engine.store, ws.dir, `run:${runId}`);
    const stale: Record<string, boolean> = {};
    for (const n of g.nodes) if (n.path !== undefined) stale[n.path] = n.stale;
    assert.deepEqual(stale, { 'raw.csv': true, 'copy.csv': true, 'valid.csv': true, 'model.bin': true });
  });

  test('artifact ids: both forms parse back; other ids are not artifacts', () => {
    assert.deepEqual(parseArtifactNodeId(artifactNodeId('ab12', 'data/x:y.csv')), {
      hash: 'ab12',
      path: 'data/x:y.csv',
    });
    assert.deepEqual(parseArtifactNodeId(artifactNodeId('ab12')), { hash: 'ab12' });
    assert.equal(parseArtifactNodeId('model:recs@1'), undefined);
    assert.equal(parseArtifactNodeId('step:3'), undefined);
  });
});
