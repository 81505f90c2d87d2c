import Database from 'better-sqlite3';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { sha256 } from '../../../runtime/src/util/hash.js';
import { runCli, spawnCli } from './cli.js';

/**
 * Crash safety, shared by the test (20 points) and bench/soak/crash.ts (100 points): a real `cairn run` child is
 * SIGKILLed at a seeded point of a multi-step run (a step's start plus a few ms); then the database must pass integrity_check, every object
 * in the store must hash to its name, the run must show as interrupted after a restart, and the next run must reuse
 * the steps the killed run completed.
 */

/** Six command steps (files, a folder, live metrics, a metrics file), each with a short pause so kills land mid-run. */
export const crashPipeline = `version: 1
name: crash
params:
  seed: 0
steps:
  source:
    run: |
      sleep 0.03; seq 1 5000 | sed "s/$/,\${params.seed}/" > source.csv
    outputs: { data: source.csv }
  shards:
    run: |
      mkdir -p shards && head -n 2500 \${steps.source.outputs.data} > shards/a.csv && sleep 0.03 && tail -n 2500 \${steps.source.outputs.data} > shards/b.csv
    outputs: { dir: shards }
  train:
    run: |
      for i in $(seq 1 300); do echo "{\\"key\\": \\"loss\\", \\"value\\": $i, \\"step\\": $i}"; done >> "$CAIRN_METRICS"; sleep 0.03; wc -l < \${steps.source.outputs.data} > model.txt
    outputs: { model: model.txt }
  evaluate:
    run: |
      cat \${steps.train.outputs.model} \${steps.shards.outputs.dir}/a.csv | wc -c > eval.txt; echo '{"acc": 0.5}' > eval.json
    outputs: { report: eval.txt }
    metrics: [eval.json]
  report:
    run: |
      sleep 0.02; cat \${steps.evaluate.outputs.report} > report.txt; echo "::cairn-metric done=1"
    outputs: { report: report.txt }
  package:
    run: |
      tar cf package.tar \${steps.report.outputs.report} \${steps.train.outputs.model}
    outputs: { tar: package.tar }
`;

export function writeCrashWorkspace(dir: string): void {
  writeFileSync(path.join(dir, 'cairn.yaml'), crashPipeline);
}

const outcomeSchema = z.object({
  runId: z.number(),
  status: z.string(),
  steps: z.record(z.string(), z.object({ status: z.string(), cacheHit: z.boolean() })),
});

export interface TrialResult {
  point: KillPoint;
  /** The run ended by itself before the kill landed (a kill point late on a loaded machine). */
  exitedBeforeKill: boolean;
  /** The killed run's status as seen after restart ('interrupted', or 'succeeded' when the kill came after the end). */
  statusAfterRestart: string;
  completedBeforeKill: string[];
  reusedFromCache: string[];
  problems: string[];
}

/** Where a trial kills: `delayMs` after a step's "running" line (or after the run row exists: `start`). */
export interface KillPoint {
  after: string;
  delayMs: number;
}

/** The events a kill may follow: the run's start and every step's start but the last's, so work is still left. */
export const killEvents = ['start', 'source', 'shards', 'train', 'evaluate', 'report'] as const;

/** A seeded kill point: a moment named by what has happened in the run, not by a clock calibrated to this machine. */
export function killPoint(random: () => number): KillPoint {
  const after = killEvents[Math.floor(random() * killEvents.length)] ?? 'start';
  return { after, delayMs: Math.floor(random() * 40) };
}

/**
 * Starts `cairn run` (text mode: "run N of …" on stderr once the run row exists, a line per step status change on
 * stdout) and SIGKILLs it `delayMs` after the kill point's event. Resolves, once it has exited, with the run id and
 * whether it ended by itself before the kill.
 */
function runUntilKilled(
  cli: string,
  dir: string,
  seed: number,
  point: KillPoint,
): Promise<{ runId: number; exitedBeforeKill: boolean }> {
  const child = spawnCli(cli, ['run', 'cairn.yaml', '-p', `seed=${seed}`], dir);
  const started = new RegExp(`^\\S+ ${point.after} +running`, 'm');
  return new Promise((resolve, reject) => {
    let stderr = '';
    let stdout = '';
    let runId: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    const arm = () => {
      timer ??= setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, point.delayMs);
    };
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = runId === undefined ? /run (\d+) of crash/.exec(stderr) : null;
      if (m) {
        runId = Number(m[1]);
        if (point.after === 'start') arm();
      }
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (point.after !== 'start' && started.test(stdout)) arm();
    });
    child.on('close', () => {
      if (timer) clearTimeout(timer);
      if (runId === undefined) reject(new Error(`cairn run exited before starting a run: ${stderr}`));
      else resolve({ runId, exitedBeforeKill: !killed });
    });
  });
}

export async function crashTrial(cli: string, dir: string, seed: number, point: KillPoint): Promise<TrialResult> {
  const problems: string[] = [];
  const { runId, exitedBeforeKill } = await runUntilKilled(cli, dir, seed, point);

  // 1. The database as the crash left it: no repair has run yet (read-only connection).
  const dbFile = path.join(dir, '.cairn', 'cairn.db');
  const completedBeforeKill: string[] = [];
  const db = new Database(dbFile, { readonly: true });
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') problems.push(`integrity_check: ${String(check)}`);
    for (const r of db
      .prepare("SELECT step FROM step_runs WHERE run_id = ? AND status = 'succeeded' ORDER BY id")
      .all(runId) as Array<{ step: string }>)
      completedBeforeKill.push(r.step);
  } finally {
    db.close();
  }

  // 2. No half-written object: every object's content hashes to its name.
  const objects = path.join(dir, '.cairn', 'objects');
  let dirs: string[] = [];
  try {
    dirs = readdirSync(objects);
  } catch {
    dirs = [];
  }
  for (const d of dirs) {
    for (const f of readdirSync(path.join(objects, d))) {
      if (sha256(readFileSync(path.join(objects, d, f))) !== d + f)
        problems.push(`object ${d}${f} does not match its hash`);
    }
  }

  // 3. The next run (a restart of the runtime) reuses every step the killed run completed...
  const next = await runCli(cli, ['run', 'cairn.yaml', '-p', `seed=${seed}`, '--format', 'json'], dir);
  const outcome = outcomeSchema.safeParse(JSON.parse(next.stdout || 'null'));
  const reusedFromCache: string[] = [];
  if (next.code !== 0 || !outcome.success || outcome.data.status !== 'succeeded')
    problems.push(`resumed run failed (exit ${next.code}): ${next.stdout}${next.stderr}`);
  else {
    for (const [name, s] of Object.entries(outcome.data.steps)) if (s.cacheHit) reusedFromCache.push(name);
    for (const s of completedBeforeKill)
      if (!reusedFromCache.includes(s)) problems.push(`step ${s} completed before the kill but ran again`);
  }

  // 4. ...and, having opened the store, shows the killed run as interrupted (or succeeded if the kill came too late).
  const after = new Database(dbFile, { readonly: true });
  let statusAfterRestart = 'none';
  try {
    statusAfterRestart =
      (after.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined)?.status ??
      'missing';
    const open = after
      .prepare("SELECT count(*) AS n FROM step_runs WHERE run_id = ? AND status IN ('running', 'pending')")
      .get(runId) as { n: number };
    if (open.n > 0) problems.push(`run ${runId} still has ${open.n} running/pending steps after restart`);
  } finally {
    after.close();
  }
  if (statusAfterRestart !== 'interrupted' && statusAfterRestart !== 'succeeded')
    problems.push(`run ${runId} shows ${statusAfterRestart}, not interrupted`);
  return { point, exitedBeforeKill, statusAfterRestart, completedBeforeKill, reusedFromCache, problems };
}
