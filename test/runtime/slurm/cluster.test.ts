import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startSlurm, type SlurmCluster } from '../../lib/slurm.js';
import { processAlive } from '../../../runtime/src/util/process.js';

let cluster: SlurmCluster;
before(async () => {
  cluster = await startSlurm();
});
after(async () => {
  await cluster.stop();
});

function jobState(id: string): string {
  return /JobState=(\S+)/.exec(cluster.client('scontrol', ['show', 'job', '-o', id]))?.[1] ?? 'unknown';
}

async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setTimeout(resolve, 100));
}

test('the test cluster runs an afterok chain in order and stops its daemons', async () => {
  const out = path.join(cluster.dir, 'chain.txt');
  const a = cluster.client('sbatch', ['--parsable', '-o', '/dev/null', '--wrap', `echo a >> ${out}`]);
  const b = cluster.client('sbatch', [
    '--parsable',
    '-o',
    '/dev/null',
    `--dependency=afterok:${a}`,
    '--wrap',
    `echo b >> ${out}`,
  ]);
  await until(() => jobState(b) === 'COMPLETED');
  assert.equal(jobState(a), 'COMPLETED');
  assert.equal(readFileSync(out, 'utf8'), 'a\nb\n');
  const pid = Number(readFileSync(path.join(cluster.dir, 'slurmctld.pid'), 'utf8'));
  const second = await startSlurm();
  await second.stop();
  assert.ok(processAlive(pid), 'stopping one cluster leaves another alone');
});
