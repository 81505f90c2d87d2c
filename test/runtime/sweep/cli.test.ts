import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../../runtime/src/cli/main.js';
import { tempWorkspace } from '../engine/helpers.js';

const pipelineText = `version: 1
params:
  lr: 0.01
  factors: 8
steps:
  train:
    run: >-
      echo "{\\"score\\": $CAIRN_PARAM_FACTORS, \\"lr\\": $CAIRN_PARAM_LR}" > m.json
    params: [lr, factors]
    metrics: [m.json]
`;

let ws: ReturnType<typeof tempWorkspace>;
before(() => {
  ws = tempWorkspace('cairn-sweep-cli-');
  writeFileSync(path.join(ws.dir, 'cairn.yaml'), pipelineText);
});
after(() => ws.cleanup());

async function cairn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    cwd: ws.dir,
    isTty: false,
  });
  return { code, stdout, stderr };
}

test('cairn sweep -p lists runs the grid, prints a table; runs list --sweep shows its runs', async () => {
  const r = await cairn([
    'sweep',
    'cairn.yaml',
    '-p',
    'factors=16,32',
    '-p',
    'lr=0.5',
    '--parallel',
    '2',
    '--metric',
    'score',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^sweep (\d+) of cairn: succeeded \(2 runs\)$/);
  assert.deepEqual(lines[1]?.split(/\s+/), ['RUN', 'STATUS', 'factors', 'lr', 'score']);
  assert.deepEqual(
    lines.slice(2, 4).map((l) => l.split(/\s+/).slice(1)),
    [
      ['succeeded', '16', '0.5', '16'],
      ['succeeded', '32', '0.5', '32'],
    ],
  );
  const sweepId = /^sweep (\d+)/.exec(lines[0] ?? '')?.[1] ?? '';
  const list = await cairn(['runs', 'list', '--sweep', sweepId, '--format', 'json']);
  assert.equal(list.code, 0, list.stderr);
  const runs = (JSON.parse(list.stdout) as { runs: Array<{ sweepId: number; params: { factors: number } }> }).runs;
  assert.deepEqual(runs.map((x) => [x.sweepId, x.params.factors]).sort(), [
    [Number(sweepId), 16],
    [Number(sweepId), 32],
  ]);
});

test('cairn sweep refuses what cannot run: no matrix, --seed without --random, a value of the wrong type', async () => {
  const none = await cairn(['sweep', 'cairn.yaml']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /cairn\.yaml has no matrix/);
  const seed = await cairn(['sweep', 'cairn.yaml', '-p', 'factors=1,2', '--seed', '3']);
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /--seed goes with --random/);
  const bad = await cairn(['sweep', 'cairn.yaml', '-p', 'factors=1,many']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /"factors":"many".*nothing was run[\s\S]*'factors' is a int/);
});

test("step-exec --manifest (a sweep's array task) names the manifest and what is missing", async () => {
  const manifest = path.join(ws.dir, 'train.json');
  writeFileSync(manifest, JSON.stringify({ '0': { run: 1, paramsFile: path.join(ws.dir, 'params.json') } }));
  const args = ['step-exec', '--manifest', manifest, '--step', 'train', '--pipeline', 'cairn.yaml'];
  const saved = process.env.SLURM_ARRAY_TASK_ID;
  try {
    delete process.env.SLURM_ARRAY_TASK_ID;
    const outside = await cairn(args);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /--manifest .*train\.json: SLURM_ARRAY_TASK_ID is not set/);
    process.env.SLURM_ARRAY_TASK_ID = '3';
    const missing = await cairn(args);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--manifest .*train\.json has no entry for array task 3/);
    writeFileSync(manifest, JSON.stringify({ '3': { run: 'one' } }));
    const bad = await cairn(args);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--manifest .*train\.json: .*run/s);
  } finally {
    if (saved === undefined) delete process.env.SLURM_ARRAY_TASK_ID;
    else process.env.SLURM_ARRAY_TASK_ID = saved;
  }
});
