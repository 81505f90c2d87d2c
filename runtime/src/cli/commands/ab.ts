import { storeOf, storeSettingsOf } from '../store.js';
import { storeAbsent } from '../../store/open.js';
import * as path from 'node:path';
import type { AbResult, BusinessAbReport } from '@cairn/protocol';
import { businessAb } from '../../ab/business.js';
import { SimulateError, simulateTraffic } from '../../ab/simulate.js';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { table } from './models.js';
import { AbError, onlineAb, replayAb } from '../../ab/analysis.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { DataError } from '../../ml/data/index.js';
import { RegistryError } from '../../registry/registry.js';
import { ServeLoadError } from '../../serve/index.js';
import { workspaceOf } from '../../util/workspace.js';

function printResult(io: CliIo, r: AbResult): void {
  io.stdout(
    `A/B ${r.id} of ${r.name}: version ${r.championVersion} (champion) vs ${r.challengerVersion} (challenger), ${r.source}${r.holdout ? ` on ${r.holdout}` : ''}${r.deploymentId === null ? '' : ` of deployment ${r.deploymentId}`}\n\n`,
  );
  const keys = [...new Set(r.arms.flatMap((a) => Object.keys(a.metrics)))];
  const rows = [
    ['ARM', 'VERSION', 'REQUESTS', 'LABELLED', ...keys.map((k) => k.toUpperCase())],
    ...r.arms.map((a) => [
      a.arm,
      String(a.version ?? ''),
      String(a.requests),
      String(a.labelled),
      ...keys.map((k) => (a.metrics[k] === undefined ? '' : (a.metrics[k] ?? 0).toFixed(4))),
    ]),
  ];
  io.stdout(table(rows) + '\n');
  io.stdout(`${r.test.statement}\nwinner: ${r.test.winner}\n`);
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const ci = (c: readonly [number, number], f: (x: number) => string): string => `[${f(c[0])}, ${f(c[1])}]`;
const money = (x: number): string => x.toFixed(4);

function printBusiness(io: CliIo, r: BusinessAbReport): void {
  io.stdout(
    `A/B on business metrics of ${r.name}, deployment ${r.deploymentId} (alpha ${r.alpha}, power ${r.power}, ` +
      `MDE ${r.relative ? `${r.mde * 100}% relative` : r.mde})\n\n`,
  );
  const rows = [
    ['ARM', 'VERSION', 'IMPRESSIONS', 'CTR', 'CTR CI', 'CONVERSION', 'CONV CI', 'REV/IMPR', 'REV CI'],
    ...r.arms.map((a) => [
      a.arm,
      String(a.version ?? ''),
      String(a.impressions),
      pct(a.ctr.rate),
      ci(a.ctr.ci, pct),
      pct(a.conversion.rate),
      ci(a.conversion.ci, pct),
      money(a.revenuePerImpression.mean),
      ci(a.revenuePerImpression.ci, money),
    ]),
  ];
  io.stdout(table(rows) + '\n');
  const diffs = [
    ['METRIC', 'DIFFERENCE', 'CI', 'TEST', 'P', 'ALWAYS-VALID P', 'N PER ARM'],
    ...r.differences.map((d) => {
      const f = d.metric === 'revenuePerImpression' ? money : pct;
      const p = d.pValue.toPrecision(3);
      return [
        d.metric,
        f(d.difference),
        ci(d.ci, f),
        d.method,
        p,
        d.sequential.pValue.toPrecision(3),
        String(d.sampleSize.perArm ?? ''),
      ];
    }),
  ];
  io.stdout('\n' + table(diffs) + '\n');
  io.stdout(
    `\nSRM: chi-square ${r.srm.chiSquare.toFixed(3)}, p = ${r.srm.pValue.toPrecision(3)}` +
      `${r.srm.mismatch ? ' (MISMATCH)' : ''}\n`,
  );
  for (const w of r.warnings) io.stdout(`warning: ${w}\n`);
}

function unitOf(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new UsageError(`--${name} ${text}: give a number between 0 and 1`);
  return v;
}

function countOf(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`--${name} ${text}: give a whole number > 0`);
  return v;
}

/** `cairn ab simulate`: replays future ratings against a served recommender (runtime/src/ab/simulate.ts). */
async function simulate(parsed: ReturnType<typeof parseArgs>, io: CliIo): Promise<number> {
  const url = flag(parsed, 'url');
  const ratings = flag(parsed, 'ratings');
  if (url === undefined || ratings === undefined) {
    throw new UsageError('ab simulate needs --url URL (of cairn serve) and --ratings FILE');
  }
  const k = countOf('k', flag(parsed, 'k'));
  const limit = countOf('limit', flag(parsed, 'limit'));
  try {
    const s = await simulateTraffic({
      url: url.replace(/\/+$/, ''),
      token: flag(parsed, 'token') ?? null,
      ratings: path.resolve(io.cwd, ratings),
      ...(k === undefined ? {} : { k }),
      ...(limit === undefined ? {} : { limit }),
    });
    if (formatOf(parsed) === 'json') io.stdout(JSON.stringify(s) + '\n');
    else {
      io.stdout(
        `${s.requests} top-k requests: ${s.impressions} impressions, ${s.clicks} clicks, ` +
          `${s.purchases} purchases, revenue ${s.revenue.toFixed(2)} (${s.accepted} events stored)\n`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof SimulateError || error instanceof DataError) {
      io.stderr(`cairn ab simulate: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function alphaOf(text: string | undefined): number {
  if (text === undefined) return 0.05;
  const a = Number(text);
  if (!(a > 0 && a < 1)) throw new UsageError(`--alpha ${text}: give a significance level between 0 and 1 (e.g. 0.05)`);
  return a;
}

export const abCommand: CliCommand = {
  name: 'ab',
  summary:
    'A/B analysis of champion vs challenger: online per-arm metrics from feedback, or a replay on a holdout, with a significance test.',
  usage:
    'cairn ab report NAME [--deployment ID] [--alpha 0.05]\n' +
    '       cairn ab simulate --url URL --ratings FILE [--token TOKEN] [--k 10] [--limit N]\n' +
    '       cairn ab business NAME [--deployment ID] [--alpha 0.05] [--power 0.8] [--mde 0.1] [--look-every 100]\n' +
    '       cairn ab replay NAME --holdout FILE --label COLUMN [--champion VERSION|ALIAS] [--challenger VERSION|ALIAS] [--alpha 0.05]\n       (all: [--workspace DIR] [--format json])',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, {
      value: [
        'format',
        'workspace',
        'store',
        'deployment',
        'alpha',
        'holdout',
        'label',
        'champion',
        'challenger',
        'power',
        'mde',
        'look-every',
        'url',
        'ratings',
        'token',
        'k',
        'limit',
      ],
    });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    if (sub === 'simulate') return simulate(parsed, io);
    if (sub !== 'report' && sub !== 'replay' && sub !== 'business') {
      throw new UsageError(
        sub === undefined
          ? 'give a sub-command: report, business, simulate or replay'
          : `unknown sub-command '${sub}' (report, business, simulate, replay)`,
      );
    }
    if (parsed.positionals.length !== 1) throw new UsageError(`ab ${sub} takes one model NAME`);
    const name = parsed.positionals[0] ?? '';
    const alpha = alphaOf(flag(parsed, 'alpha'));
    if (storeAbsent(storeSettingsOf(parsed, workspace))) {
      io.stderr(
        `cairn ab: no store in ${workspace} (.cairn/cairn.db): nothing is registered there; pass --workspace\n`,
      );
      return 1;
    }
    const store = await storeOf(parsed, workspace);
    const ctx = { store, objects: new ObjectStore(path.join(workspace, '.cairn')), workspace };
    try {
      if (sub === 'business') {
        for (const f of ['holdout', 'label', 'champion', 'challenger']) {
          if (parsed.flags.has(f)) throw new UsageError(`--${f} goes with ab replay`);
        }
        const dep = flag(parsed, 'deployment');
        const id = dep === undefined ? undefined : Number(dep);
        if (id !== undefined && !(Number.isInteger(id) && id > 0)) {
          throw new UsageError(`--deployment ${dep}: give a deployment id (cairn deployments list)`);
        }
        const every = flag(parsed, 'look-every');
        const lookEvery = every === undefined ? 100 : Number(every);
        if (!(Number.isInteger(lookEvery) && lookEvery > 0)) {
          throw new UsageError(`--look-every ${every ?? ''}: give a whole number of impressions`);
        }
        const report = await businessAb(store, name, {
          ...(id === undefined ? {} : { deploymentId: id }),
          alpha,
          power: unitOf('power', flag(parsed, 'power'), 0.8),
          mde: unitOf('mde', flag(parsed, 'mde'), 0.1),
          lookEvery,
        });
        if (format === 'json') io.stdout(JSON.stringify(report) + '\n');
        else printBusiness(io, report);
        return 0;
      }
      for (const f of ['power', 'mde', 'look-every']) {
        if (parsed.flags.has(f)) throw new UsageError(`--${f} goes with ab business`);
      }
      let result: AbResult;
      if (sub === 'report') {
        for (const f of ['holdout', 'label', 'champion', 'challenger'])
          if (parsed.flags.has(f)) throw new UsageError(`--${f} goes with ab replay`);
        const dep = flag(parsed, 'deployment');
        const id = dep === undefined ? undefined : Number(dep);
        if (id !== undefined && !(Number.isInteger(id) && id > 0))
          throw new UsageError(`--deployment ${dep}: give a deployment id (cairn deployments list)`);
        result = await onlineAb(ctx, name, { ...(id === undefined ? {} : { deploymentId: id }), alpha });
      } else {
        if (parsed.flags.has('deployment')) throw new UsageError('--deployment goes with ab report');
        const holdout = flag(parsed, 'holdout');
        const label = flag(parsed, 'label');
        if (holdout === undefined || label === undefined)
          throw new UsageError('ab replay needs --holdout FILE and --label COLUMN');
        const champion = flag(parsed, 'champion');
        const challenger = flag(parsed, 'challenger');
        result = await replayAb(ctx, name, {
          holdout: path.resolve(io.cwd, holdout),
          label,
          ...(champion === undefined ? {} : { champion }),
          ...(challenger === undefined ? {} : { challenger }),
          alpha,
        });
      }
      if (format === 'json') io.stdout(JSON.stringify(result) + '\n');
      else printResult(io, result);
      return 0;
    } catch (error) {
      if (
        error instanceof AbError ||
        error instanceof RegistryError ||
        error instanceof ServeLoadError ||
        error instanceof DataError
      ) {
        if (format === 'json') io.stdout(JSON.stringify({ error: error.message }) + '\n');
        io.stderr(`cairn ab ${sub}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await store.close();
    }
  },
};
