/**
 * bench/serve/calls.ts — what one model call costs at 1, 32 and 64 rows, for the models Cairn produces (./models.ts), in
 * onnxruntime-node: `session.run` alone on encoded features, and the served path (`cairn serve`'s Loaded.predict:
 * request table → saved transform → encoding → tensor → session.run → per-row answers). Adaptive batching can pay
 * only where the fixed per-call part (batch 1) is large against the per-row part ((batch 64 − batch 1) / 63).
 * Each figure is the fastest of `--reps` timed loops of `--calls` calls (the machine is shared), with that loop's
 * process CPU per call (onnxruntime's intra-op threads included): `run` under onnxruntime's default threading (one
 * intra-op thread per core), `run 1 thr` with one.
 *
 *   node bench/lib/runBundled.mjs bench/serve/calls.ts [-- --calls 2000 --reps 5]
 */
import * as ort from 'onnxruntime-node';
import { loadServedModel } from '../../runtime/src/serve/index.js';
import { requestTable } from '../../runtime/src/serve/request.js';
import { arg } from './args.js';
import { benchModels, type BenchModel } from './models.js';

const CALLS = arg('calls', 2000);
const REPS = arg('reps', 5);
const SIZES = [1, 32, 64];

/** Wall and process CPU µs per call (CPU counts onnxruntime's intra-op threads too, spinning included). */
interface Cost {
  wall: number;
  cpu: number;
}

/**
 * µs per call of each of `fs` (`calls[i]` calls a loop): the fastest of REPS loops (and that loop's CPU), the loops
 * interleaved.
 */
async function time(fs: Array<() => Promise<unknown>>, calls: number[]): Promise<Cost[]> {
  for (const [i, f] of fs.entries()) for (let k = 0; k < (calls[i] ?? 0); k++) await f();
  const best = fs.map(() => ({ wall: Infinity, cpu: Infinity }));
  for (let r = 0; r < REPS; r++)
    for (const [i, f] of fs.entries()) {
      const n = calls[i] ?? 1;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let k = 0; k < n; k++) await f();
      const c = process.cpuUsage(c0);
      const wall = ((performance.now() - t0) * 1000) / n;
      if (wall < (best[i]?.wall ?? Infinity)) best[i] = { wall, cpu: (c.user + c.system) / n };
    }
  return best;
}

function feeds(m: BenchModel, n: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(m.bare)) {
    const shape = f.width === 1 && f.type === 'int64' ? [n] : [n, f.width];
    const data = Array.from({ length: n }, () => f.data).flat();
    out[name] =
      f.type === 'int64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from(data, (v) => BigInt(v)),
            shape,
          )
        : new ort.Tensor('float32', Float32Array.from(data), shape);
  }
  return out;
}

/** session.run under onnxruntime's default threading (one intra-op thread per core, spinning) and with one thread. */
const THREADING: Array<{ label: string; options: ort.InferenceSession.SessionOptions }> = [
  { label: 'run', options: {} },
  { label: 'run 1 thr', options: { intraOpNumThreads: 1 } },
];

async function measure(m: BenchModel): Promise<Array<[string, Cost[]]>> {
  const served = await loadServedModel(m.onnx);
  // Equal loop lengths: on a shared machine a shorter loop more often escapes preemption and looks faster.
  const calls = SIZES.map(() => CALLS);
  const out: Array<[string, Cost[]]> = [];
  for (const t of THREADING) {
    const session = await ort.InferenceSession.create(m.onnx, { logSeverityLevel: 3, ...t.options });
    const runs = SIZES.map((n) => {
      const f = feeds(m, n);
      return () => session.run(f);
    });
    out.push([t.label, await time(runs, calls)]);
    await session.release();
  }
  const predicts = SIZES.map((n) => {
    const table = requestTable({ dataframe_split: { columns: m.columns, data: Array(n).fill(m.row) } }, served.fields);
    return () => served.predict(table);
  });
  out.push(['served', await time(predicts, calls)]);
  return out;
}

function line(label: string, us: Cost[]): string {
  const [one = NaN, , b64 = NaN] = us.map((c) => c.wall);
  const perRow = (b64 - one) / 63;
  const cells = us
    .map((u, i) => `batch ${SIZES[i]} ${u.wall.toFixed(1).padStart(7)} µs (cpu ${u.cpu.toFixed(0).padStart(4)})`)
    .join('   ');
  return `  ${label.padEnd(9)} ${cells}   fixed ≈ ${(one - perRow).toFixed(1)} µs + ${perRow.toFixed(2)} µs/row   64 rows in one call: ${((64 * one) / b64).toFixed(1)}× cheaper than 64 calls`;
}

async function main(): Promise<void> {
  const models = await benchModels();
  console.log(
    `bench/serve/calls.ts — µs per model call, fastest of ${REPS} loops; onnxruntime-node ${ort.env.versions.common}, node ${process.version}`,
  );
  for (const m of models) {
    console.log(m.name);
    for (const [label, costs] of await measure(m)) console.log(line(label, costs));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
