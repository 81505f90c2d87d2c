/**
 * Slurm scheduling overhead (npm run bench:cluster), on a real single-node cluster started for the run:
 *  - a 20-step chain of trivial steps on the local executor and on the Slurm executor (its jobs starting the step
 *    runner bundle, as the product does, and for comparison the whole CLI);
 *  - a bare `sbatch --dependency=afterok:` chain of 20 trivial jobs (Slurm's own latency), in the same run;
 *  - Cairn's per-step overhead = (Slurm executor − bare chain) / 20 (target: ≤ 1 s).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../runtime/src/executor/loadPipeline.js';
import { startSlurmRun } from '../../runtime/src/executor/slurm.js';
import { buildCli, cliEnv, stepRunnerOf } from '../../test/runtime/engine/cli.js';
import { startSlurm } from '../../test/lib/slurm.js';

const STEPS = 20;

function chainYaml(): string {
  const steps = Array.from({ length: STEPS }, (_, i) => {
    const needs = i === 0 ? '' : `\n    needs: [s${i - 1}]`;
    return `  s${i}:\n    run: echo ${i}\n    cache: false${needs}`;
  });
  return `version: 1\nname: chain\nsteps:\n${steps.join('\n')}\n`;
}

async function main(): Promise<void> {
  const [cluster, cli] = await Promise.all([startSlurm(), buildCli()]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-cluster-'));
  const engine = new Engine(dir);
  try {
    writeFileSync(path.join(dir, 'cairn.yaml'), chainYaml());
    const loaded = loadPipeline('cairn.yaml', { cwd: dir, workspace: dir });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded));
    await engine.store.ready;

    let t0 = performance.now();
    const local = await engine.run(loaded.pipeline);
    const localMs = performance.now() - t0;

    const env = { ...cliEnv(), SLURM_CONF: cluster.conf };
    const options = { store: engine.store, objects: engine.objects, workspace: dir };
    // The jobs start the step runner (dist/stepExec.js, what the product runs) and, for comparison, the whole CLI.
    const onSlurm = async (cairn: string[]) => {
      const start = performance.now();
      const outcome = await (await startSlurmRun(loaded.pipeline, options, { cairn, env, pollMs: 100 })).done;
      return { outcome, ms: performance.now() - start };
    };
    const slurm = await onSlurm(stepRunnerOf(cli));
    const whole = await onSlurm([process.execPath, cli]);

    // Bare chain: same poll interval, same end condition (the last job COMPLETED).
    t0 = performance.now();
    let previous = '';
    for (let i = 0; i < STEPS; i++) {
      const dep = previous ? [`--dependency=afterok:${previous}`] : [];
      previous = cluster.client('sbatch', [
        '--parsable',
        '--no-requeue',
        '-o',
        '/dev/null',
        ...dep,
        '--wrap',
        `echo ${i}`,
      ]);
    }
    for (;;) {
      const out = spawnSync('squeue', ['-h', '--states=all', '-j', previous, '-o', '%T'], {
        env: cluster.env,
        encoding: 'utf8',
      });
      if (out.stdout.trim() === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const bareMs = performance.now() - t0;

    const perStep = (slurm.ms - bareMs) / STEPS;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`local executor, ${STEPS}-step chain: ${s(localMs)} (${local.status})`);
    console.log(`slurm executor, ${STEPS}-step chain: ${s(slurm.ms)} (${slurm.outcome.status})`);
    console.log(
      `slurm executor, jobs starting the whole cairn CLI: ${s(whole.ms)} (${whole.outcome.status}; ` +
        `${s((whole.ms - bareMs) / STEPS)} per step)`,
    );
    console.log(`bare sbatch afterok chain, ${STEPS} jobs: ${s(bareMs)}`);
    console.log(
      `Cairn overhead per step beyond Slurm's latency: ${s(perStep)} (target ≤ 1 s): ${perStep <= 1000 ? 'ok' : 'ABOVE TARGET'}`,
    );
  } finally {
    await engine.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
