/**
 * Drift report on 1M rows × 20 numeric columns (reference and current each), Cairn vs scipy doing the same work.
 *
 *   npm run bench:ml:drift [-- --rows 1000000 --columns 20]
 *
 * The data are generated here (seeded) and written as raw float64 for /usr/bin/python3 (Debian's numpy + scipy),
 * which times, per column: ks_2samp (auto → asymptotic at this size), wasserstein_distance, np.std, the distinct
 * count, Sturges edges from the reference, both histograms with overflow bins, PSI and jensenshannon — what
 * driftReport computes for each numeric column. Each side times only its computation on in-memory data, and the
 * bench checks that both found the same statistics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { driftReport } from '../../runtime/src/ml/drift/index.js';
import { rng } from '../../runtime/src/ml/data/split.js';
import type { Table } from '../../runtime/src/ml/types.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const rows = arg('rows', 1_000_000);
const columns = arg('columns', 20);

/** Column-major float64 data: column j of the current set is shifted by j·0.01 so some columns drift. */
function generate(seed: number, shiftScale: number): Float64Array[] {
  const random = rng(seed);
  const cols: Float64Array[] = [];
  for (let j = 0; j < columns; j++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i += 2) {
      // Box–Muller: two normals per pair of uniforms.
      const u = random() || 1e-12;
      const w = random();
      const r = Math.sqrt(-2 * Math.log(u));
      v[i] = r * Math.cos(2 * Math.PI * w) + j * shiftScale;
      if (i + 1 < rows) v[i + 1] = r * Math.sin(2 * Math.PI * w) + j * shiftScale;
    }
    cols.push(v);
  }
  return cols;
}

const toTable = (cols: Float64Array[]): Table => ({
  rowCount: rows,
  columns: cols.map((values, j) => ({ name: `f${j}`, type: 'float', values, missing: null })),
});

const PYTHON = String.raw`
import sys, time, json
import numpy as np
from scipy import stats
from scipy.spatial import distance
rows, cols, ref_path, cur_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ref = np.fromfile(ref_path, dtype=np.float64).reshape(cols, rows)
cur = np.fromfile(cur_path, dtype=np.float64).reshape(cols, rows)

def fill(p):
    nz = p[p != 0]
    m = nz.min()
    p = p.copy()
    np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return p

t0 = time.perf_counter()
c0 = time.process_time()
out = []
for j in range(cols):
    a, b = ref[j], cur[j]
    ks = stats.ks_2samp(a, b)
    wd = stats.wasserstein_distance(a, b)
    sd = np.std(a)
    distinct = min(len(np.unique(np.concatenate([a, b]))), 21)
    edges = np.histogram_bin_edges(a, bins='sturges')
    rc = np.histogram(a, edges)[0].astype(float)
    cc = np.histogram(b, edges)[0].astype(float)
    below, above = np.sum(b < edges[0]), np.sum(b > edges[-1])
    if below:
        rc = np.concatenate([[0.0], rc]); cc = np.concatenate([[below], cc])
    if above:
        rc = np.concatenate([rc, [0.0]]); cc = np.concatenate([cc, [above]])
    rs, cs = fill(rc / len(a)), fill(cc / len(b))
    psi = float(np.sum((rs - cs) * np.log(rs / cs)))
    js = float(distance.jensenshannon(rs, cs))
    out.append({'ks': float(ks.statistic), 'p': float(ks.pvalue), 'wd': float(wd / max(sd, 0.001)), 'psi': psi, 'js': js, 'distinct': distinct})
t1 = time.perf_counter()
c1 = time.process_time()
print(json.dumps({'seconds': t1 - t0, 'cpuSeconds': c1 - c0, 'columns': out}))
`;

interface PyResult {
  seconds: number;
  cpuSeconds: number;
  columns: Array<{ ks: number; p: number; wd: number; psi: number; js: number }>;
}

function main(): void {
  console.log(`drift bench: ${rows.toLocaleString('en')} rows × ${columns} numeric columns, reference vs current`);
  const ref = generate(1, 0);
  const cur = generate(2, 0.01);
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-drift-bench-'));
  try {
    const write = (name: string, cols: Float64Array[]) => {
      const all = new Float64Array(rows * columns);
      cols.forEach((c, j) => all.set(c, j * rows));
      const f = path.join(dir, name);
      writeFileSync(f, new Uint8Array(all.buffer));
      return f;
    };
    const refFile = write('ref.f64', ref);
    const curFile = write('cur.f64', cur);

    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const report = driftReport(toTable(ref), toTable(cur));
    const cpu = process.cpuUsage(c0);
    const cairnSeconds = (performance.now() - t0) / 1000;
    const cairnCpu = (cpu.user + cpu.system) / 1e6;

    const py = spawnSync('/usr/bin/python3', ['-c', PYTHON, String(rows), String(columns), refFile, curFile], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (py.status !== 0) throw new Error(`python failed: ${py.stderr}`);
    const scipy = JSON.parse(py.stdout) as PyResult;

    let worst = 0;
    report.features.forEach((f, j) => {
      const s = scipy.columns[j];
      if (!s) throw new Error(`scipy has no column ${j}`);
      const pairs: Array<[number | undefined, number]> = [
        [f.tests.ks?.statistic, s.ks],
        [f.tests.ks?.pValue, s.p],
        [f.tests.wasserstein?.normed, s.wd],
        [f.tests.psi?.value, s.psi],
        [f.tests.jensenshannon?.distance, s.js],
      ];
      for (const [a, b] of pairs) {
        const rel = a === undefined ? Infinity : b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
        worst = Math.max(worst, rel);
      }
    });
    // CPU time too: on a shared machine wall time mostly measures the neighbours.
    console.log(
      `cairn driftReport:      ${cairnSeconds.toFixed(2)} s wall, ${cairnCpu.toFixed(2)} s CPU (${report.driftedColumns} of ${report.testedColumns} columns drifted, method ${report.features[0]?.method ?? '?'})`,
    );
    console.log(`scipy (same tests):     ${scipy.seconds.toFixed(2)} s wall, ${scipy.cpuSeconds.toFixed(2)} s CPU`);
    console.log(
      `ratio cairn / scipy:    ${(cairnSeconds / scipy.seconds).toFixed(2)} wall, ${(cairnCpu / scipy.cpuSeconds).toFixed(2)} CPU (target ≤ 1)`,
    );
    console.log(`largest relative difference between the two: ${worst.toExponential(2)}`);
    if (worst > 1e-9) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
