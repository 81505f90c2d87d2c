import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  abResultSchema,
  deploymentSchema,
  gateReportSchema,
  modelDetailSchema,
  monitorRunSchema,
  promotionSchema,
  runDetailSchema,
  serveStartedSchema,
} from '@cairn/protocol';
import { buildCli, cliEnv } from '../engine/cli.js';

// Issue 6, item 6: the closed loop on samples/recommender with real MovieLens, as scripts/loop.sh runs it (and
// docs/deploy.md walks through it): train as of T1 → gates → promote → serve → replay the later ratings → drift →
// alert → retrain as of T2 → A/B online and on a holdout → promote the challenger under traffic → v2 answers.
// Every stage is checked from the --format json output the script saves. MovieLens is exported by Rscript with
// r-cran-dslabs (scripts/setup.sh --with-data); without it this test fails, saying so.

const repo = resolve(__dirname, '..', '..', '..');

/** `cairn replay --format json` (runtime/src/cli/commands/replay.ts ReplaySummary): the fields checked here. */
const replaySchema = z.object({
  rows: z.number().int(),
  requests: z.number().int(),
  failed: z.number().int(),
  arms: z.record(z.string(), z.number()),
  feedback: z.object({ requests: z.number().int(), updated: z.number().int(), unknown: z.number().int() }).nullable(),
  errors: z.array(z.string()),
});
const probeSchema = z.object({
  status: z.number(),
  arm: z.string().nullable(),
  version: z.string().nullable(),
  body: z.object({ predictions: z.array(z.number()) }),
});
const summarySchema = z.object({
  followed: z.boolean(),
  swappedDuringReplay: z.boolean(),
  failedRequests: z.number().int(),
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

test(
  'closed loop on MovieLens: deploy, replay the later period, drift, retrain, A/B, promote, v2 answers',
  { timeout: 15 * 60_000 },
  async () => {
    const r = spawnSync('Rscript', ['-e', 'invisible(nrow(dslabs::movielens))'], { encoding: 'utf8' });
    assert.equal(
      r.status,
      0,
      `MovieLens cannot be exported here (Rscript with the R package dslabs is needed: bash scripts/setup.sh --with-data installs r-base-core and r-cran-dslabs): ${r.error?.message ?? r.stderr}`,
    );
    const cli = await buildCli();
    const work = join(mkdtempSync(join(tmpdir(), 'cairn-loop-')), 'loop');
    const ran = await run('bash', [join(repo, 'scripts/loop.sh'), work], {
      ...cliEnv(),
      CAIRN: `${process.execPath} ${cli}`,
    });
    assert.equal(ran.code, 0, `scripts/loop.sh failed:\n${ran.output}`);
    const read = <T>(schema: z.ZodType<T>, name: string): T =>
      schema.parse(JSON.parse(readFileSync(join(work, 'loop', `${name}.json`), 'utf8')));
    const code = (name: string): number => Number(readFileSync(join(work, 'loop', `${name}.code`), 'utf8'));

    // 1. Trained as of T1: past and future partition the 100,004 ratings; v1 registered.
    const v1Run = read(runDetailSchema, '01-show-v1');
    assert.equal(v1Run.status, 'succeeded');
    const m1 = v1Run.metrics;
    assert.equal(
      (m1.train_rows ?? 0) + (m1.test_rows ?? 0) + (m1.future_rows ?? 0),
      m1.rows,
      'train + test + future = the cleaned ratings',
    );
    assert.ok((m1.future_rows ?? 0) > 40_000, `future of T1: ${m1.future_rows}`);
    assert.equal(m1.version, 1);

    // 2. v1's gates pass; promotion moves champion to it.
    const gates1 = read(gateReportSchema, '02-gates-v1');
    assert.equal(gates1.passed, true);
    assert.deepEqual(
      gates1.gates.map((g) => [g.gate, g.state]),
      [
        ['card', 'pass'],
        ['card-metrics', 'pass'],
        ['evaluation', 'pass'],
        ['drift', 'pass'],
      ],
    );
    const promo1 = read(promotionSchema, '03-promote-v1');
    assert.deepEqual([promo1.move?.alias, promo1.move?.version], ['champion', 1]);

    // 3–4. Served with the log; the ratings after T1 replayed, every label fed back.
    assert.equal(read(serveStartedSchema, '04-serve-v1').model.registered?.version, 1);
    const replay1 = read(replaySchema, '05-replay-t1');
    assert.deepEqual(
      [replay1.rows, replay1.failed, replay1.feedback?.updated],
      [3000, 0, 3000],
      replay1.errors.join('\n'),
    );

    // 5. Drift detected on the served traffic, alert opened on v1, retrain run as of T2 registered v2 as challenger.
    const monitor = read(monitorRunSchema, '06-monitor');
    assert.equal(code('06-monitor'), 1, 'monitor exits 1 on drift');
    assert.equal(monitor.drifted, true);
    assert.ok(monitor.report.report.shareDrifted >= monitor.report.report.shareThreshold);
    const drifted = monitor.report.report.features.filter((f) => f.drifted).map((f) => f.name);
    for (const c of ['userId', 'movieId'])
      assert.ok(
        drifted.includes(c),
        `${c} drifted: the later period has other users and newer movies (drifted: ${drifted.join(', ')})`,
      );
    assert.equal(monitor.alertOpened, true);
    assert.equal(monitor.alert?.kind, 'drift');
    assert.equal(monitor.alert?.version, 1);
    assert.equal(monitor.retrain?.status, 'succeeded');
    const v2Run = read(runDetailSchema, '06-show-v2');
    assert.equal(v2Run.id, monitor.retrain?.runId);
    assert.ok((v2Run.metrics.as_of ?? 0) > (m1.as_of ?? Infinity), 'v2 is trained as of a later time');
    assert.ok((v2Run.metrics.train_rows ?? 0) > (m1.train_rows ?? Infinity), 'v2 sees the recent ratings');
    assert.equal(v2Run.metrics.version, 2);
    const gatesDrift = read(gateReportSchema, '07-gates-v1-drift');
    assert.equal(code('07-gates-v1-drift'), 1);
    assert.equal(gatesDrift.passed, false);
    assert.equal(gatesDrift.gates.find((g) => g.gate === 'drift')?.state, 'fail');
    assert.deepEqual(read(modelDetailSchema, '08-models').aliases, { champion: 1, challenger: 2 });

    // 6. A/B: both arms served and labelled; online and replay results carry a stated significance test.
    const ab = read(serveStartedSchema, '10-serve-ab');
    assert.equal(ab.model.registered?.version, 1);
    assert.deepEqual(
      [ab.challenger?.model.registered?.version, ab.challenger?.split, ab.challenger?.key],
      [2, 0.5, 'userId'],
    );
    const replay2 = read(replaySchema, '11-replay-t2');
    assert.equal(replay2.failed, 0, replay2.errors.join('\n'));
    assert.ok(
      (replay2.arms.champion ?? 0) > 0 && (replay2.arms.challenger ?? 0) > 0,
      `rows per arm: ${JSON.stringify(replay2.arms)}`,
    );
    const online = read(abResultSchema, '12-ab-report');
    const offline = read(abResultSchema, '13-ab-replay');
    for (const [result, source] of [
      [online, 'online'],
      [offline, 'replay'],
    ] as const) {
      assert.equal(result.source, source);
      assert.deepEqual([result.championVersion, result.challengerVersion], [1, 2]);
      assert.ok(
        result.arms.every((a) => a.labelled > 0),
        `${source}: every arm has labelled rows`,
      );
      assert.match(result.test.statement, /bootstrap|z-test/i, `${source}: the test is stated`);
      assert.ok(result.test.ci[0] <= result.test.difference && result.test.difference <= result.test.ci[1]);
    }
    assert.equal(offline.holdout, 'traffic/holdout.csv');

    // 7. The challenger promoted through the gates; the server followed the alias with no failed request.
    const promo2 = read(promotionSchema, '14-promote-v2');
    assert.equal(promo2.gates.passed, true);
    assert.deepEqual([promo2.move?.alias, promo2.move?.version, promo2.move?.previous], ['champion', 2, 1]);
    const during = read(replaySchema, '15-replay-during');
    assert.equal(during.failed, 0, during.errors.join('\n'));
    assert.ok(during.rows > 0);
    const summary = read(summarySchema, 'summary');
    assert.equal(summary.followed, true, 'the server reported version 2 after the promotion');
    assert.equal(summary.failedRequests, 0);
    const probe = read(probeSchema, '16-probe');
    assert.deepEqual([probe.status, probe.version], [200, '2'], 'the running server answers with v2');
    const refused = read(promotionSchema, '17-promote-v1-refused');
    assert.equal(code('17-promote-v1-refused'), 1);
    assert.equal(refused.move, undefined, 'a failing gate refuses the promotion');
    assert.equal(refused.gates.gates.find((g) => g.gate === 'drift')?.state, 'fail');
    const stopped = read(deploymentSchema, '18-stop-ab');
    assert.equal(stopped.status, 'stopped');
    assert.ok(stopped.labelled > 0);
  },
);
