import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BusinessAbRequest,
  businessAbReportSchema,
  simulateSummarySchema,
  type BusinessAbReport,
} from '@cairn/protocol';
import { priceOf } from '../../../runtime/src/ab/simulate.js';
import { abCommand } from '../../../runtime/src/cli/commands/ab.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { connectRuntime } from '../../lib/rpcRuntime.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { assertClose } from '../ml/golden.js';
import { serveAbRecommender, type ServedAbRecommender } from '../serve/recommenderFixture.js';

// The business A/B loop end to end: a recommender served with a 50/50 split to a real SQLite store, the simulator
// replaying "future" ratings as impressions, clicks and purchases over HTTP, and `cairn ab business --format json`
// reporting per arm; its numbers recomputed by scipy from the stored outcomes.

const dir = mkdtempSync(join(tmpdir(), 'cairn-ab-business-'));
const TOKEN = 'ab-business-token-0123456789';
let served: ServedAbRecommender;
let server: ModelServer;
let store: Store;
let deploymentId: number;
let future: string;

before(async () => {
  served = await serveAbRecommender(dir, TOKEN);
  ({ server, store, deploymentId } = served);
  // 400 ratings after "now" (timestamps in seconds, shuffled: the simulator replays them in time order).
  const random = seededRandom(7);
  const lines = ['userId,movieId,rating,timestamp'];
  for (let i = 0; i < 400; i++) {
    const user = 1 + Math.floor(random() * 60);
    lines.push(
      `${user},${101 + Math.floor(random() * 15)},${1 + Math.floor(random() * 5)},${1_700_000_000 + ((i * 7919) % 400) * 60}`,
    );
  }
  future = join(dir, 'future.csv');
  writeFileSync(future, lines.join('\n') + '\n');
});
after(async () => {
  await served.close();
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await abCommand.run(args, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    cwd: dir,
    isTty: false,
  });
  return { code, out, err };
}

const REFERENCE = String.raw`
import json, math, sys
import numpy as np
from scipy import stats
c = json.load(sys.stdin)
a, b = c['a'], c['b']
def wilson(s, n):
    z = stats.norm.isf(0.025); p = s / n; q = z * z; d = 1 + q / n
    centre = (p + q / (2 * n)) / d; half = z * math.sqrt(p * (1 - p) / n + q / (4 * n * n)) / d
    return [centre - half, centre + half]
def ztest(sa, na, sb, nb):
    p = (sa + sb) / (na + nb); se = math.sqrt(p * (1 - p) * (1 / na + 1 / nb)); z = (sb / nb - sa / na) / se
    return 2 * stats.norm.sf(abs(z))
out = {}
for m in ['click', 'purchase']:
    sa, sb = sum(a[m]), sum(b[m])
    out[m] = dict(wa=wilson(sa, len(a[m])), wb=wilson(sb, len(b[m])), p=ztest(sa, len(a[m]), sb, len(b[m])))
r = stats.ttest_ind(b['revenue'], a['revenue'], equal_var=False)
out['revenue'] = dict(t=float(r.statistic), p=float(r.pvalue))
s = stats.chisquare([len(a['click']), len(b['click'])])
out['srm'] = dict(stat=float(s.statistic), p=float(s.pvalue))
json.dump(out, sys.stdout)
`;

test('simulated traffic → events → `cairn ab business`: per-arm CTR, conversion and revenue as scipy computes them', async () => {
  const sim = await cli([
    'simulate',
    '--url',
    server.url,
    '--token',
    TOKEN,
    '--ratings',
    future,
    '--k',
    '5',
    '--format',
    'json',
  ]);
  assert.equal(sim.code, 0, sim.err);
  const summary = simulateSummarySchema.parse(JSON.parse(sim.out));
  assert.equal(summary.requests, 400);
  assert.equal(summary.impressions, 400);
  assert.ok(summary.clicks > 0 && summary.purchases > 0, JSON.stringify(summary));
  assert.equal(summary.accepted, summary.impressions + summary.clicks + summary.purchases);

  const run = await cli(['business', 'rec', '--workspace', dir, '--format', 'json', '--look-every', '25']);
  assert.equal(run.code, 0, run.err);
  const report: BusinessAbReport = businessAbReportSchema.parse(JSON.parse(run.out));
  const [champion, challenger] = report.arms;
  assert.equal(champion.impressions + challenger.impressions, 400);
  assert.equal(champion.clicks + challenger.clicks, summary.clicks);
  assert.equal(champion.purchases + challenger.purchases, summary.purchases);
  assertClose(champion.revenue + challenger.revenue, summary.revenue, 'revenue', 1e-9);
  assert.deepEqual([champion.version, challenger.version], [1, 2]);

  // scipy on the stored outcomes, arm by arm.
  const outcomes = await store.abEvents.outcomes(deploymentId);
  const arm = (name: string) => {
    const rows = outcomes.filter((o) => o.arm === name);
    return {
      click: rows.map((o) => (o.clicked ? 1 : 0)),
      purchase: rows.map((o) => (o.purchased ? 1 : 0)),
      revenue: rows.map((o) => o.revenue),
    };
  };
  type Ref = Record<'click' | 'purchase', { wa: [number, number]; wb: [number, number]; p: number }> & {
    revenue: { t: number; p: number };
    srm: { stat: number; p: number };
  };
  const input = JSON.stringify({ a: arm('champion'), b: arm('challenger') });
  const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', REFERENCE], { input }).toString()) as Ref;
  const [ctr, conv, rev] = report.differences;
  assert.ok(ctr && conv && rev);
  for (const [m, a, b, d] of [
    ['click', champion.ctr, challenger.ctr, ctr],
    ['purchase', champion.conversion, challenger.conversion, conv],
  ] as const) {
    for (const k of [0, 1] as const) {
      assertClose(a.ci[k], ref[m].wa[k], `${m} champion Wilson ${k}`, 1e-12);
      assertClose(b.ci[k], ref[m].wb[k], `${m} challenger Wilson ${k}`, 1e-12);
    }
    assertClose(d.pValue, ref[m].p, `${m} z-test p`, 1e-9);
    // The mSPRT looked every 25 shown impressions: 400 / 25 looks.
    assert.ok(d.sequential.looks === 16, `${d.metric}: ${d.sequential.looks} looks every 25 of 400 impressions`);
  }
  assertClose(rev.statistic, ref.revenue.t, 'Welch t', 1e-9);
  assertClose(rev.pValue, ref.revenue.p, 'Welch p', 1e-9);
  assertClose(report.srm.chiSquare, ref.srm.stat, 'SRM chi-square', 1e-12);
  assertClose(report.srm.pValue, ref.srm.p, 'SRM p', 1e-9);
  assert.ok(rev.bootstrapCi !== null && rev.bootstrapCi[0] <= rev.difference && rev.difference <= rev.bootstrapCi[1]);
  for (const d of report.differences) assert.ok(d.sampleSize.perArm !== null && d.sampleSize.perArm > 0, d.metric);

  // The JSON-RPC request (what the A/B view asks) answers the same report from the same store.
  const engine = new Engine(dir);
  const runtime = connectRuntime(engine);
  const client = runtime.client;
  try {
    const viaRpc = await client.sendRequest(BusinessAbRequest.type, { name: 'rec', lookEvery: 25 });
    const { createdAt: _a, ...rpcRest } = businessAbReportSchema.parse(viaRpc);
    const { createdAt: _b, ...cliRest } = report;
    assert.deepEqual(rpcRest, cliRest);
    await assert.rejects(
      client.sendRequest(BusinessAbRequest.type, { name: 'nope' }),
      /nope has no deployment with a challenger/,
    );
    await assert.rejects(
      client.sendRequest(BusinessAbRequest.type, { name: 'rec', lookEvery: 0 } as BusinessAbRequest.Params),
      /runtime\/businessAb: invalid params: lookEvery/,
    );
  } finally {
    await runtime.close();
    await engine.close();
  }

  // The text form shows the same table.
  const text = await cli(['business', 'rec', '--workspace', dir]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /ARM\s+VERSION\s+IMPRESSIONS\s+CTR/);
  assert.match(text.out, /revenuePerImpression/);
});

test('the price rule is deterministic, and a deployment without impressions is a clear refusal', async () => {
  assert.equal(priceOf(101), 2.99);
  assert.equal(priceOf('1209'), 10.99);
  const other = await store.deployments.start({
    name: 'rec',
    ref: 'rec@1',
    version: 1,
    challenger: { ref: 'rec@2', version: 2, split: 0.5, key: null },
    url: 'http://127.0.0.1:9',
    pid: process.pid,
    logSample: 1,
  });
  const run = await cli(['business', 'rec', '--workspace', dir, '--deployment', String(other)]);
  assert.equal(run.code, 1);
  assert.match(run.err, /has no shown impressions yet: ask it for top-k answers/);
});
