import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LineageGraph } from '@cairn/protocol';
import { FOLD_ID, detailLine, focusOnRun, shortLabel, targetRun } from '../../../webviews/src/lineage/fold.js';
import { countCrossings, layoutLineage, layoutWith } from '../../../webviews/src/lineage/layout.js';
import { lineageFixture, tenRunLineage } from '../../fixtures/webviews/lineageFixture.js';

const tenRuns = tenRunLineage();

const crossingsOf = (placed: ReturnType<typeof layoutWith>): number =>
  countCrossings(placed.edges.map((e) => e.points));

test('countCrossings counts pairs of polylines that cross, not lines that share an end', () => {
  const a = [
    { x: 0, y: 0 },
    { x: 10, y: 10 },
  ];
  const b = [
    { x: 0, y: 10 },
    { x: 10, y: 0 },
  ];
  const fromSameNode = [
    { x: 0, y: 0 },
    { x: 10, y: 0 },
  ];
  assert.equal(countCrossings([a, b]), 1);
  assert.equal(countCrossings([a, fromSameNode]), 0);
  assert.equal(
    countCrossings([
      a,
      b,
      [
        { x: 5, y: -1 },
        { x: 5, y: 11 },
      ],
    ]),
    3,
  );
});

test('the 10-run graph: the chosen layout has fewer crossings than dagre with its defaults', () => {
  const before = crossingsOf(layoutWith(tenRuns, {}));
  const after = crossingsOf(layoutLineage(tenRuns));
  assert.ok(after < before, `crossings: ${after} with the chosen layout, ${before} with dagre's defaults`);
  // Folded to run 5 (the default view) there are fewer still.
  const folded = focusOnRun(tenRuns, 5);
  const foldedCrossings = crossingsOf(
    layoutLineage({ nodes: [...folded.graph.nodes, { id: FOLD_ID }], edges: folded.graph.edges }),
  );
  assert.ok(foldedCrossings < after, `crossings folded: ${foldedCrossings}, unfolded: ${after}`);
});

test('every node is placed inside the drawing, without overlaps', () => {
  const placed = layoutLineage(tenRuns);
  const boxes = [...placed.nodes.values()];
  assert.equal(boxes.length, tenRuns.nodes.length);
  for (const [i, p] of boxes.entries()) {
    assert.ok(p.x >= 0 && p.y >= 0 && p.x <= placed.width && p.y <= placed.height);
    for (const q of boxes.slice(i + 1))
      assert.ok(Math.abs(p.x - q.x) >= 156 || Math.abs(p.y - q.y) >= 46, 'two nodes overlap');
  }
});

test('focusOnRun keeps the run, what it read and what it wrote; other runs are folded', () => {
  assert.equal(targetRun('run:5'), 5);
  assert.equal(targetRun('12'), 12);
  assert.equal(targetRun('artifact:abc'), undefined);
  const { graph, folded, foldedRuns } = focusOnRun(tenRuns, 5);
  const steps = graph.nodes.filter((n) => n.kind === 'step');
  assert.deepEqual(
    steps.map((n) => n.runId),
    steps.map(() => 5),
  );
  assert.equal(steps.length, 7);
  assert.ok(folded.length > 0 && folded.every((n) => n.kind !== 'step' || n.runId !== 5));
  assert.ok(foldedRuns.includes(1) && !foldedRuns.includes(5), `folded runs: ${foldedRuns.join(', ')}`);
  // The source data stays, and so does the model version registered from the file run 5's train step wrote (its
  // content is the one run 1 registered); the version registered from another run's model folds.
  assert.ok(graph.nodes.some((n) => n.kind === 'data' && n.path === 'data/ratings.csv'));
  assert.deepEqual(
    graph.nodes.filter((n) => n.kind === 'model').map((n) => n.id),
    ['model:movie-recommender@1'],
  );
  assert.ok(folded.some((n) => n.id === 'model:movie-recommender@2'));
  const ids = new Set(graph.nodes.map((n) => n.id));
  assert.ok(
    graph.edges.every((e) => ids.has(e.from) && ids.has(e.to)),
    'every edge joins two shown nodes',
  );
  assert.equal(graph.nodes.length + folded.length, tenRuns.nodes.length);
  // A graph of one run, and a target that is no run, fold nothing.
  assert.equal(focusOnRun(lineageFixture(), 12).folded.length, 0);
  assert.equal(focusOnRun(tenRuns, undefined).graph, tenRuns);
});

test('labels: files by name with their folder and hash below, steps without the run suffix', () => {
  const node = (label: string, extra: Partial<LineageGraph['nodes'][number]>): LineageGraph['nodes'][number] => ({
    id: 'x',
    kind: 'artifact',
    label,
    stale: false,
    ...extra,
  });
  const file = node('.cairn/work/split/test.csv', { path: '.cairn/work/split/test.csv', hash: '5b8f5275d47c8043' });
  assert.equal(shortLabel(file), 'test.csv');
  assert.equal(detailLine(file), 'split/ · 5b8f5275');
  const step = node('evaluate (run 10, cached)', { kind: 'step', runId: 10 });
  assert.equal(shortLabel(step), 'evaluate');
  assert.equal(detailLine(step), 'run #10 · cached');
  assert.equal(shortLabel(node('movie-recommender@2', { kind: 'model' })), 'movie-recommender@2');
});
