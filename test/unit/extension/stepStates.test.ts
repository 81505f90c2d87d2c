import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StepRun } from '@cairn/protocol';
import { stepStates, type RunForState } from '../../../extension/src/views/stepStates.js';

function rec(step: string, status: StepRun['status'], startedAt: number, over: Partial<StepRun> = {}): StepRun {
  return {
    step,
    status,
    cacheHit: false,
    cacheSource: 'none',
    cacheKey: null,
    startedAt,
    endedAt: startedAt + 10,
    durationMs: 10,
    error: null,
    log: null,
    outputs: [],
    ...over,
  };
}

const steps = [
  { name: 'prepare', needs: [] },
  { name: 'train', needs: ['prepare'] },
  { name: 'evaluate', needs: ['train'] },
];

test('the newest decided record of each step gives its state', () => {
  const runs: RunForState[] = [
    {
      id: 2,
      startedAt: 200,
      metrics: {},
      steps: [rec('train', 'failed', 200, { error: 'exit 1' }), rec('evaluate', 'pending', 200)],
    },
    {
      id: 1,
      startedAt: 100,
      metrics: {},
      steps: [rec('prepare', 'succeeded', 100), rec('train', 'succeeded', 110), rec('evaluate', 'succeeded', 120)],
    },
  ];
  const s = stepStates(steps, runs, 50);
  assert.equal(s.get('prepare')?.state, 'fresh');
  assert.equal(s.get('train')?.state, 'failed');
  assert.match(s.get('train')?.why ?? '', /run #2: exit 1/);
  assert.equal(s.get('evaluate')?.state, 'stale', 'fresh itself, but its upstream failed');
  assert.match(s.get('evaluate')?.why ?? '', /upstream step 'train' is failed/);
});

test('never run, running, cancelled, and a pipeline edited since', () => {
  const runs: RunForState[] = [
    { id: 3, startedAt: 300, metrics: {}, steps: [rec('prepare', 'running', 300), rec('train', 'cancelled', 300)] },
  ];
  const s = stepStates(steps, runs, undefined);
  assert.equal(s.get('prepare')?.state, 'running');
  assert.equal(s.get('train')?.state, 'stale');
  assert.equal(s.get('evaluate')?.why, 'never ran');
  const edited = stepStates(
    [{ name: 'prepare', needs: [] }],
    [{ id: 1, startedAt: 100, metrics: {}, steps: [rec('prepare', 'succeeded', 100, { cacheHit: true })] }],
    150,
  );
  assert.equal(edited.get('prepare')?.state, 'stale');
  const clean = stepStates(
    [{ name: 'prepare', needs: [] }],
    [{ id: 1, startedAt: 100, metrics: {}, steps: [rec('prepare', 'succeeded', 100, { cacheHit: true })] }],
    90,
  );
  assert.deepEqual(
    [clean.get('prepare')?.state, clean.get('prepare')?.why],
    ['fresh', 'restored from cache in run #1'],
  );
});

test('a cycle does not loop', () => {
  const s = stepStates(
    [
      { name: 'a', needs: ['b'] },
      { name: 'b', needs: ['a'] },
    ],
    [{ id: 1, startedAt: 1, metrics: {}, steps: [rec('a', 'succeeded', 1), rec('b', 'succeeded', 1)] }],
    undefined,
  );
  assert.equal(s.size, 2);
});
