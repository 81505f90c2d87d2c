import * as path from 'node:path';
import type { AbResult, AbTest, ArmMetrics } from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import { cellValue, getColumn, readTable } from '../ml/data/index.js';
import { loggedPrediction, predictedValues } from '../monitor/predictValues.js';
import { restoreVersion } from '../serve/registered.js';
import type { Store } from '../store/store.js';
import { bootstrapMeanDifference, twoProportionZTest } from './stats.js';
import { CairnError } from '../util/errors.js';

/**
 * A/B analysis of a champion and a challenger version (issue 6): online, from the feedback labels a deployment's two
 * arms received; or replayed, both models scoring the same holdout rows. Classifiers are compared on correct /
 * incorrect per row with the two-proportion z-test; regressors and recommenders on squared error with a seeded
 * bootstrap of the difference in mean squared error (paired for replay, unpaired for online arms). Results are stored
 * in ab_results.
 */

export class AbError extends CairnError {
  override name = 'AbError';
  constructor(message: string) {
    super('refused', message);
  }
}

export interface AbContext {
  store: Store;
  objects: ObjectStore;
  workspace: string;
}

type Task = 'classification' | 'regression';

/** Per-row outcomes of one arm: correct (0/1) for classifiers, squared and absolute errors for regressors. */
interface ArmRows {
  correct: number[];
  squared: number[];
  absolute: number[];
}

const emptyRows = (): ArmRows => ({ correct: [], squared: [], absolute: [] });

function add(rows: ArmRows, task: Task, predicted: unknown, truth: unknown): void {
  if (task === 'classification') rows.correct.push(String(predicted) === String(truth) ? 1 : 0);
  else {
    const e = Number(predicted) - Number(truth);
    rows.squared.push(e * e);
    rows.absolute.push(Math.abs(e));
  }
}

function mean(x: number[]): number {
  return x.reduce((s, v) => s + v, 0) / x.length;
}

function armMetrics(task: Task, rows: ArmRows): Record<string, number> {
  const n = task === 'classification' ? rows.correct.length : rows.squared.length;
  if (n === 0) return {};
  return task === 'classification'
    ? { accuracy: mean(rows.correct) }
    : { rmse: Math.sqrt(mean(rows.squared)), mae: mean(rows.absolute) };
}

const fmt = (x: number): string =>
  Math.abs(x) >= 1000 || Math.abs(x) < 0.001 ? x.toExponential(3) : x.toFixed(4).replace(/\.?0+$/, '') || '0';
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${fmt(Math.abs(x))}`;
const pText = (p: number): string => (p < 0.0001 ? p.toExponential(2) : p.toFixed(4));

/** The test of a champion (a) and challenger (b), with the decision at `alpha`, stated in one sentence. */
export function abTest(task: Task, a: ArmRows, b: ArmRows, alpha: number, paired: boolean, seed = 42): AbTest {
  if (task === 'classification') {
    const nA = a.correct.length;
    const nB = b.correct.length;
    if (nA === 0 || nB === 0)
      throw new AbError(
        `no labelled rows for the ${nA === 0 ? 'champion' : 'challenger'}: the test needs outcomes on both sides`,
      );
    const t = twoProportionZTest(
      a.correct.reduce((s, v) => s + v, 0),
      nA,
      b.correct.reduce((s, v) => s + v, 0),
      nB,
    );
    const winner = t.pValue < alpha ? (t.difference > 0 ? 'challenger' : 'champion') : 'inconclusive';
    return {
      method: 'two-proportion-z',
      metric: 'accuracy',
      lowerIsBetter: false,
      champion: t.pA,
      challenger: t.pB,
      difference: t.difference,
      ci: t.ci,
      pValue: t.pValue,
      alpha,
      winner,
      statement:
        `Two-proportion z-test (pooled, two-sided) on correct/incorrect per row: accuracy ${fmt(t.pA)} (champion, n=${nA}) vs ${fmt(t.pB)} (challenger, n=${nB}), ` +
        `difference ${signed(t.difference)} (95% CI ${signed(t.ci[0])} to ${signed(t.ci[1])}), z = ${t.z.toFixed(3)}, p = ${pText(t.pValue)} ${t.pValue < alpha ? '<' : '≥'} α = ${alpha}: ` +
        (winner === 'inconclusive' ? 'no significant difference.' : `the ${winner} is better.`),
    };
  }
  if (a.squared.length === 0 || b.squared.length === 0)
    throw new AbError(
      `no labelled rows for the ${a.squared.length === 0 ? 'champion' : 'challenger'}: the test needs outcomes on both sides`,
    );
  const t = bootstrapMeanDifference(a.squared, b.squared, { paired, seed });
  const winner = t.pValue < alpha ? (t.difference < 0 ? 'challenger' : 'champion') : 'inconclusive';
  return {
    method: 'bootstrap',
    metric: 'mse',
    lowerIsBetter: true,
    champion: t.meanA,
    challenger: t.meanB,
    difference: t.difference,
    ci: t.ci,
    pValue: t.pValue,
    alpha,
    winner,
    statement:
      `${paired ? 'Paired' : 'Unpaired'} percentile bootstrap (${t.resamples} resamples, seed ${seed}) of the difference in mean squared error: ` +
      `MSE ${fmt(t.meanA)} (champion, n=${a.squared.length}) vs ${fmt(t.meanB)} (challenger, n=${b.squared.length}), difference ${signed(t.difference)} ` +
      `(95% CI ${signed(t.ci[0])} to ${signed(t.ci[1])}), p = ${pText(t.pValue)} ${t.pValue < alpha ? '<' : '≥'} α = ${alpha}: ` +
      (winner === 'inconclusive' ? 'no significant difference.' : `the ${winner} is better.`),
  };
}

async function store(ctx: AbContext, r: Omit<AbResult, 'id'>): Promise<AbResult> {
  return { id: await ctx.store.monitor.insertAbResult(r), ...r };
}

/** Online A/B: per-arm metrics from a deployment's feedback, and the test on the labelled rows. */
export async function onlineAb(
  ctx: AbContext,
  name: string,
  o: { deploymentId?: number; alpha?: number },
): Promise<AbResult> {
  const alpha = o.alpha ?? 0.05;
  const dep = await ctx.store.deployments.arms(o.deploymentId === undefined ? { abOf: name } : { id: o.deploymentId });
  if (!dep)
    throw new AbError(
      o.deploymentId === undefined
        ? `${name} has no deployment with a challenger: serve it with a challenger arm first`
        : `deployment ${o.deploymentId} does not exist (\`cairn deployments list\` shows them)`,
    );
  if (dep.name !== name) throw new AbError(`deployment ${dep.id} serves ${dep.name}, not ${name}`);
  const logged = await ctx.store.deployments.predictions([dep.id]);
  const rows = { champion: emptyRows(), challenger: emptyRows() };
  const counts = {
    champion: { requests: 0, labelled: 0, version: dep.version },
    challenger: { requests: 0, labelled: 0, version: dep.challengerVersion },
  };
  let task: Task | undefined;
  for (const r of logged) {
    const arm = r.arm === 'challenger' ? 'challenger' : 'champion';
    counts[arm].requests++;
    if (r.version !== null) counts[arm].version = r.version;
    if (r.labelJson === null) continue;
    const p = loggedPrediction(r.predictionJson);
    task ??= p.task;
    counts[arm].labelled++;
    add(rows[arm], task, p.value, JSON.parse(r.labelJson));
  }
  if (task === undefined)
    throw new AbError(
      `deployment ${dep.id} has no feedback yet (${logged.length} logged predictions, none labelled): send labels to its feedback endpoint`,
    );
  const champion = counts.champion.version;
  const challenger = counts.challenger.version;
  if (champion === null || challenger === null)
    throw new AbError(
      `deployment ${dep.id} does not serve registered versions on both arms: A/B results are kept per version`,
    );
  const arms: ArmMetrics[] = (['champion', 'challenger'] as const).map((arm) => ({
    arm,
    version: counts[arm].version,
    requests: counts[arm].requests,
    labelled: counts[arm].labelled,
    metrics: armMetrics(task ?? 'regression', rows[arm]),
  }));
  const test = abTest(task, rows.champion, rows.challenger, alpha, false);
  return store(ctx, {
    name,
    championVersion: champion,
    challengerVersion: challenger,
    source: 'online',
    deploymentId: dep.id,
    holdout: null,
    arms,
    test,
    createdAt: Date.now(),
  });
}

/** Offline replay: both versions score the same holdout rows; the test is paired where it can be (the bootstrap). */
export async function replayAb(
  ctx: AbContext,
  name: string,
  o: { holdout: string; label: string; champion?: string; challenger?: string; alpha?: number },
): Promise<AbResult> {
  const alpha = o.alpha ?? 0.05;
  const holdout = await readTable(o.holdout);
  const truthCol = getColumn(holdout, o.label, path.basename(o.holdout));
  const truth = Array.from({ length: holdout.rowCount }, (_, i) => cellValue(truthCol, i));
  const refOf = (r: string): string => `${name}@${r}`;
  const champ = await restoreVersion(ctx.store, ctx.workspace, refOf(o.champion ?? 'champion'));
  try {
    const chall = await restoreVersion(ctx.store, ctx.workspace, refOf(o.challenger ?? 'challenger'));
    try {
      if (champ.version === chall.version)
        throw new AbError(`champion and challenger are both version ${champ.version} of ${name}: nothing to compare`);
      const [a, b] = await Promise.all([predictedValues(champ.file, holdout), predictedValues(chall.file, holdout)]);
      if (a.task !== b.task)
        throw new AbError(
          `version ${champ.version} is a ${a.task} model and version ${chall.version} a ${b.task} model: they cannot be compared on one metric`,
        );
      const rows = { champion: emptyRows(), challenger: emptyRows() };
      let labelled = 0;
      for (let i = 0; i < holdout.rowCount; i++) {
        if (truth[i] === null) continue;
        labelled++;
        add(rows.champion, a.task, a.values[i], truth[i]);
        add(rows.challenger, a.task, b.values[i], truth[i]);
      }
      if (labelled === 0) throw new AbError(`column ${o.label} of ${o.holdout} has no value: the replay needs labels`);
      const arms: ArmMetrics[] = [
        {
          arm: 'champion',
          version: champ.version,
          requests: holdout.rowCount,
          labelled,
          metrics: armMetrics(a.task, rows.champion),
        },
        {
          arm: 'challenger',
          version: chall.version,
          requests: holdout.rowCount,
          labelled,
          metrics: armMetrics(a.task, rows.challenger),
        },
      ];
      const test = abTest(a.task, rows.champion, rows.challenger, alpha, true);
      const holdoutRel = path.relative(ctx.workspace, o.holdout).split(path.sep).join('/');
      return await store(ctx, {
        name,
        championVersion: champ.version,
        challengerVersion: chall.version,
        source: 'replay',
        deploymentId: null,
        holdout: holdoutRel,
        arms,
        test,
        createdAt: Date.now(),
      });
    } finally {
      await chall.remove();
    }
  } finally {
    await champ.remove();
  }
}
