import { tf, useBackend, type BackendName } from '../../runtime/src/ml/backend.js';
import { trainMf } from '../../runtime/src/ml/train/mf.js';
import { movieLens } from './movieLens.js';

/**
 * tfjs backends compared in one run: a 512×512 by 512×512 float32 matmul, and one epoch of matrix factorization on
 * MovieLens latest-small (32 factors, batch 256). wasm against cpu always; tfjs-node when it is installed.
 *
 * Usage: npm run bench:ml:backend
 */
interface Result {
  backend: BackendName;
  matmulMs: number;
  matmulWallMs: number;
  mfEpochS: number;
  mfEpochWallS: number;
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

async function measure(name: BackendName, data: Awaited<ReturnType<typeof movieLens>>): Promise<Result | undefined> {
  try {
    await useBackend(name);
  } catch (e) {
    console.log(`${name}: not available (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    return undefined;
  }
  const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
  const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
  const run = () => tf.tidy(() => tf.matMul(a, b).dataSync());
  run();
  const reps = name === 'tfjs-cpu' ? 5 : 30;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const matmulMs = (cpuSeconds(c0) * 1000) / reps;
  const matmulWallMs = (performance.now() - w0) / reps;
  a.dispose();
  b.dispose();
  const c1 = process.cpuUsage();
  const w1 = performance.now();
  await trainMf(data.train.data, {
    epochs: 1,
    lr: 0.01,
    l2: 0.05,
    batchSize: 256,
    seed: 42,
    validFraction: 0,
    factors: 32,
    implicit: false,
  });
  return {
    backend: name,
    matmulMs,
    matmulWallMs,
    mfEpochS: cpuSeconds(c1),
    mfEpochWallS: (performance.now() - w1) / 1000,
  };
}

async function main(): Promise<void> {
  const data = await movieLens();
  const results: Result[] = [];
  for (const name of ['tfjs-node', 'tfjs-wasm', 'tfjs-cpu'] as const) {
    const r = await measure(name, data);
    if (r) results.push(r);
  }
  console.log('\nCPU = user + system time of this process (fairer than wall time on a shared machine).');
  console.log(
    'backend'.padEnd(12),
    'matmul 512³ CPU ms'.padStart(19),
    'wall ms'.padStart(9),
    'MF epoch CPU s'.padStart(15),
    'wall s'.padStart(8),
  );
  for (const r of results) {
    console.log(
      r.backend.padEnd(12),
      r.matmulMs.toFixed(1).padStart(19),
      r.matmulWallMs.toFixed(1).padStart(9),
      r.mfEpochS.toFixed(2).padStart(15),
      r.mfEpochWallS.toFixed(2).padStart(8),
    );
  }
  const wasm = results.find((r) => r.backend === 'tfjs-wasm');
  const cpu = results.find((r) => r.backend === 'tfjs-cpu');
  if (wasm && cpu)
    console.log(
      `\nwasm speed-up over cpu: matmul ${(cpu.matmulMs / wasm.matmulMs).toFixed(1)}×, MF epoch ${(cpu.mfEpochS / wasm.mfEpochS).toFixed(1)}×`,
    );
}

void main();
