import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { buildCli } from './cli.js';
import { crashTrial, killPoint, writeCrashWorkspace } from './crashHarness.js';
import { tempWorkspace } from './helpers.js';

let cli: string;
let ws: ReturnType<typeof tempWorkspace>;
before(async () => {
  cli = await buildCli();
  ws = tempWorkspace('cairn-crash-');
  writeCrashWorkspace(ws.dir);
});
after(() => ws.cleanup());

test(
  'SIGKILL at 20 seeded points of a multi-step run (each after a step starts): store intact, run interrupted, completed steps reused',
  { timeout: 150_000 },
  async () => {
    const random = seededRandom(20261123);
    let interrupted = 0;
    let reused = 0;
    for (let i = 0; i < 20; i++) {
      const point = killPoint(random);
      const r = await crashTrial(cli, ws.dir, i + 1, point);
      assert.deepEqual(
        r.problems,
        [],
        `trial ${i} (${point.delayMs} ms after ${point.after}): ${r.problems.join('; ')}`,
      );
      if (r.statusAfterRestart === 'interrupted') interrupted++;
      reused += r.reusedFromCache.length;
    }
    // Kill points follow events of the run, so they land inside it on a fast or a slow machine; some after completed steps.
    assert.ok(interrupted >= 10, `only ${interrupted} of 20 kills interrupted a run`);
    assert.ok(reused > 0, 'no kill came after a completed step');
  },
);
