/**
 * Crash soak (npm run bench:soak): the crash-safety check of test/runtime/engine/crash.test.ts at 100 seeded kill
 * points (CAIRN_SOAK_POINTS to change). A real `cairn run` child is SIGKILLed during a six-step run; each time the
 * store must pass integrity_check, every object must match its hash, the run must read interrupted after the restart,
 * and the next run must reuse the steps the killed run completed. Prints a summary; exits 1 on any problem.
 */
import * as os from 'node:os';
import { seededRandom } from '../../runtime/src/util/prng.js';
import { buildCli } from '../../test/runtime/engine/cli.js';
import { crashTrial, killPoint, writeCrashWorkspace } from '../../test/runtime/engine/crashHarness.js';
import { tempWorkspace } from '../../test/runtime/engine/helpers.js';

const POINTS = Number(process.env.CAIRN_SOAK_POINTS ?? 100);
const SEED = Number(process.env.CAIRN_SOAK_SEED ?? 7);

void (async () => {
  const cli = await buildCli();
  const ws = tempWorkspace('cairn-soak-');
  let failed = 0;
  try {
    writeCrashWorkspace(ws.dir);
    console.log(
      `crash soak: ${POINTS} SIGKILLs at seeded points (a step's start + 0-40 ms) of a six-step run (seed ${SEED}, load average ${os.loadavg()[0]?.toFixed(1)})`,
    );
    const random = seededRandom(SEED);
    const counts = { interrupted: 0, finishedFirst: 0, completedSteps: 0, reused: 0 };
    const t0 = performance.now();
    for (let i = 0; i < POINTS; i++) {
      const point = killPoint(random);
      const r = await crashTrial(cli, ws.dir, 1000 + i, point);
      if (r.statusAfterRestart === 'interrupted') counts.interrupted++;
      else counts.finishedFirst++;
      counts.completedSteps += r.completedBeforeKill.length;
      counts.reused += r.completedBeforeKill.filter((s) => r.reusedFromCache.includes(s)).length;
      if (r.problems.length > 0) {
        failed++;
        console.log(`  point ${i} (${point.delayMs} ms after ${point.after}): ${r.problems.join('; ')}`);
      }
    }
    console.log(
      `  ${POINTS - failed}/${POINTS} points clean in ${((performance.now() - t0) / 1000).toFixed(0)} s: integrity_check ok, objects match their hashes`,
    );
    console.log(
      `  ${counts.interrupted} kills interrupted a run (shown interrupted after restart), ${counts.finishedFirst} came after the run ended`,
    );
    console.log(
      `  ${counts.reused}/${counts.completedSteps} steps completed before a kill were reused from cache by the next run`,
    );
  } finally {
    ws.cleanup();
  }
  process.exitCode = failed > 0 ? 1 : 0;
})();
