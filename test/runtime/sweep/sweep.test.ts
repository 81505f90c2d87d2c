import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../../runtime/src/executor/loadPipeline.js';
import {
  pipelineMatrix,
  runSweep,
  sweepConcurrency,
  sweepMatrix,
  SweepError,
} from '../../../runtime/src/sweep/sweep.js';
import { tempWorkspace } from '../engine/helpers.js';

// `prep` reads no param: every combination shares it. Each step appends its name to ran.log in the workspace (each
// combination runs in its own copy of the folder; the log must outlive them), so the test sees how often a step
// really ran, cache hits excluded.
const pipelineText = (log: string) => `version: 1
name: sweepme
params:
  lr: 0.01
  factors: 8
matrix:
  params:
    lr: [0.001, 0.01]
    factors: [16, 32]
steps:
  prep:
    run: echo prep >> ${log}; cp input.csv prepared.csv
    deps: [input.csv]
    outputs: { data: prepared.csv }
  train:
    run: >-
      echo train >> ${log}; test -f prepared.csv &&
      echo "{\\"score\\": $CAIRN_PARAM_FACTORS}" > m.json
    deps: [prepared.csv]
    params: [lr, factors]
    metrics: [m.json]
`;

describe('sweeps', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  const ran = () => {
    const file = path.join(ws.dir, 'ran.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  };
  before(() => {
    ws = tempWorkspace('cairn-sweep-');
    writeFileSync(path.join(ws.dir, 'cairn.yaml'), pipelineText(path.join(ws.dir, 'ran.log')));
    writeFileSync(path.join(ws.dir, 'input.csv'), 'a\n1\n');
    engine = new Engine(ws.dir, { parallelism: 4 });
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('the pipeline matrix runs every combination side by side; the shared step runs once', async () => {
    const loaded = loadPipeline('cairn.yaml', { cwd: ws.dir, workspace: ws.dir });
    assert.ok(loaded.ok);
    const matrix = sweepMatrix(pipelineMatrix(loaded), { grid: {} }, 'cairn.yaml');
    const started: number[] = [];
    const outcome = await runSweep(engine, matrix, {
      file: 'cairn.yaml',
      cwd: ws.dir,
      onRunStarted: (_, id) => started.push(id),
    });
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.combinations));
    assert.deepEqual(
      outcome.combinations.map((c) => c.params),
      [
        { lr: 0.001, factors: 16 },
        { lr: 0.001, factors: 32 },
        { lr: 0.01, factors: 16 },
        { lr: 0.01, factors: 32 },
      ],
    );
    assert.deepEqual(
      outcome.combinations.map((c) => c.metrics.score),
      [16, 32, 16, 32],
    );
    // Four runs started before the first finished would each miss `prep` without the cache-key lock.
    const lines = ran();
    assert.equal(lines.filter((l) => l === 'prep').length, 1, lines.join(','));
    assert.equal(lines.filter((l) => l === 'train').length, 4, lines.join(','));

    const listed = await engine.store.runs.list({ filter: { sweep: outcome.sweepId } });
    assert.equal(listed.total, 4);
    assert.deepEqual(listed.runs.map((r) => r.id).sort(), [...started].sort());
    assert.ok(listed.runs.every((r) => r.sweepId === outcome.sweepId));
    const sweep = await engine.store.sweeps.get(outcome.sweepId);
    assert.deepEqual(sweep && { params: sweep.params, combinations: sweep.combinations, runs: sweep.runs }, {
      params: ['lr', 'factors'],
      combinations: 4,
      runs: 4,
    });
    const json = JSON.parse(await engine.store.runs.listJson({ filter: { sweep: outcome.sweepId } })) as {
      runs: Array<{ sweepId: number }>;
    };
    assert.ok(json.runs.every((r) => r.sweepId === outcome.sweepId));
  });

  test('CLI lists replace the matrix; --random draws from them; a value no param accepts runs nothing', async () => {
    const random = sweepMatrix(undefined, { grid: { factors: [4, 8, 12] }, random: { n: 2, seed: 3 } }, 'cairn.yaml');
    assert.deepEqual(random, { random: { n: 2, seed: 3, params: { factors: { choice: [4, 8, 12] } } } });
    assert.throws(() => sweepMatrix(undefined, { grid: {} }, 'x.yaml'), /x\.yaml has no matrix/);
    const before = (await engine.store.sweeps.list()).length;
    await assert.rejects(
      runSweep(engine, { params: { factors: [16, 'many'] } }, { file: 'cairn.yaml', cwd: ws.dir }),
      (e: unknown) => e instanceof SweepError && /"factors":"many".*nothing was run/s.test(e.message),
    );
    assert.equal((await engine.store.sweeps.list()).length, before);
  });

  test('runs at once: bounded by the cores, the combinations and --parallel', () => {
    assert.deepEqual(sweepConcurrency(2, 16), { runs: 2, perRun: 1 });
    assert.deepEqual(sweepConcurrency(8, 3), { runs: 3, perRun: 2 });
    assert.deepEqual(sweepConcurrency(8, 16, 2), { runs: 2, perRun: 4 });
  });
});
