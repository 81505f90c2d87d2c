import type { AbBusinessMetric, BusinessAbReport, BusinessArm, MetricDifference } from '@cairn/protocol';
import type { ImpressionOutcome } from '../store/repos/abEvents.js';
import type { Store } from '../store/store.js';
import { AbError } from './analysis.js';
import {
  absoluteMde,
  meanEstimate,
  rateEstimate,
  sampleSizeMean,
  sampleSizeProportions,
  sequentialTest,
  srmCheck,
  welchTTest,
  type Moments,
} from './businessStats.js';
import { bootstrapMeanDifference, twoProportionZTest } from './stats.js';

/**
 * The A/B report on business metrics of a deployment's two arms (docs/deploy.md, "A/B on clicks, conversions and
 * revenue"): per arm CTR, conversion and revenue per impression with intervals; per metric the difference with its
 * fixed-horizon test, the mSPRT over looks every `lookEvery` shown impressions, the sample size for the MDE; SRM.
 */

export interface BusinessOptions {
  alpha?: number;
  power?: number;
  /** Minimum detectable effect; relative (a share of the champion's value) unless `relative` is false. */
  mde?: number;
  relative?: boolean;
  lookEvery?: number;
  /** The mSPRT's mixing variance per metric; default the squared absolute MDE. */
  tau2?: Partial<Record<AbBusinessMetric, number>>;
  seed?: number;
}

type Arm = 'champion' | 'challenger';

/** Running sums of one arm, so each look is O(1). */
class ArmSums {
  n = 0;
  clicks = 0;
  purchases = 0;
  revenue = 0;
  // Welford over revenue per impression.
  mean = 0;
  m2 = 0;
  readonly revenues: number[] = [];

  add(o: ImpressionOutcome): void {
    this.n++;
    if (o.clicked) this.clicks++;
    if (o.purchased) this.purchases++;
    this.revenue += o.revenue;
    const d = o.revenue - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (o.revenue - this.mean);
    this.revenues.push(o.revenue);
  }

  moments(): Moments {
    return { n: this.n, mean: this.mean, variance: this.n > 1 ? this.m2 / (this.n - 1) : 0 };
  }
}

type Look = { difference: number; variance: number };

function rateLook(sA: number, nA: number, sB: number, nB: number): Look {
  const pA = sA / nA;
  const pB = sB / nB;
  return { difference: pB - pA, variance: (pA * (1 - pA)) / nA + (pB * (1 - pB)) / nB };
}

function meanLook(a: Moments, b: Moments): Look {
  return { difference: b.mean - a.mean, variance: a.variance / a.n + b.variance / b.n };
}

/** The report from the shown impressions in the order they were shown (pure: tests call it on their own rows). */
export function businessReport(
  outcomes: readonly ImpressionOutcome[],
  meta: { name: string; deploymentId: number; versions: Record<Arm, number | null>; split: number },
  o: BusinessOptions = {},
): BusinessAbReport {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const mde = o.mde ?? 0.1;
  const relative = o.relative ?? true;
  const lookEvery = o.lookEvery ?? 100;
  const sums: Record<Arm, ArmSums> = { champion: new ArmSums(), challenger: new ArmSums() };
  const looks: Record<AbBusinessMetric, Look[]> = { ctr: [], conversion: [], revenuePerImpression: [] };
  const look = (): void => {
    const a = sums.champion;
    const b = sums.challenger;
    if (a.n < 2 || b.n < 2) return;
    looks.ctr.push(rateLook(a.clicks, a.n, b.clicks, b.n));
    looks.conversion.push(rateLook(a.purchases, a.n, b.purchases, b.n));
    looks.revenuePerImpression.push(meanLook(a.moments(), b.moments()));
  };
  outcomes.forEach((out, i) => {
    sums[out.arm === 'challenger' ? 'challenger' : 'champion'].add(out);
    if ((i + 1) % lookEvery === 0) look();
  });
  if (outcomes.length % lookEvery !== 0) look();

  const arm = (a: Arm): BusinessArm => {
    const s = sums[a];
    return {
      arm: a,
      version: meta.versions[a],
      impressions: s.n,
      clicks: s.clicks,
      purchases: s.purchases,
      revenue: s.revenue,
      ctr: rateEstimate(s.clicks, s.n, alpha),
      conversion: rateEstimate(s.purchases, s.n, alpha),
      revenuePerImpression: meanEstimate(s.moments(), alpha),
    };
  };
  const arms: [BusinessArm, BusinessArm] = [arm('champion'), arm('challenger')];
  const [a, b] = [sums.champion, sums.challenger];
  const warnings: string[] = [];
  const srm = srmCheck([a.n, b.n], [1 - meta.split, meta.split]);
  if (srm.mismatch) {
    warnings.push(
      `sample-ratio mismatch: ${a.n} vs ${b.n} impressions where the split is ${1 - meta.split}/${meta.split} ` +
        `(chi-square p = ${srm.pValue.toExponential(2)} < 0.001): the arms do not get the traffic they should, ` +
        'so their comparison is not trustworthy; check the A/B key and what drops impressions',
    );
  }
  const differences: MetricDifference[] = [];
  if (a.n < 2 || b.n < 2)
    warnings.push(`too few impressions to compare (${a.n} champion, ${b.n} challenger; 2 each at least)`);
  else {
    const tau2 = (metric: AbBusinessMetric, baseline: number): number => {
      const given = o.tau2?.[metric];
      if (given !== undefined) return given;
      const m = absoluteMde(baseline, { mde, relative });
      // A zero baseline has no relative effect: fall back to the baseline-free scale of one point.
      return m !== 0 ? m * m : 1e-4;
    };
    const sizeOpts = { mde, relative, alpha, power };
    for (const metric of ['ctr', 'conversion'] as const) {
      const sA = metric === 'ctr' ? a.clicks : a.purchases;
      const sB = metric === 'ctr' ? b.clicks : b.purchases;
      const z = twoProportionZTest(sA, a.n, sB, b.n, alpha);
      differences.push({
        metric,
        method: 'two-proportion-z',
        difference: z.difference,
        relative: z.pA > 0 ? z.difference / z.pA : null,
        ci: z.ci,
        statistic: z.z,
        pValue: z.pValue,
        df: null,
        bootstrapCi: null,
        sequential: sequentialTest(looks[metric], tau2(metric, z.pA), alpha),
        sampleSize: sampleSizeProportions(z.pA, sizeOpts),
      });
    }
    const ma = a.moments();
    const w = welchTTest(ma, b.moments(), alpha);
    const boot = bootstrapMeanDifference(a.revenues, b.revenues, { paired: false, seed: o.seed ?? 42 });
    differences.push({
      metric: 'revenuePerImpression',
      method: 'welch-t',
      difference: w.difference,
      relative: ma.mean > 0 ? w.difference / ma.mean : null,
      ci: w.ci,
      statistic: w.t,
      pValue: w.pValue,
      df: w.df,
      bootstrapCi: boot.ci,
      sequential: sequentialTest(looks.revenuePerImpression, tau2('revenuePerImpression', ma.mean), alpha),
      sampleSize: sampleSizeMean(ma.mean, Math.sqrt(ma.variance), sizeOpts),
    });
    for (const d of differences) {
      const need = d.sampleSize.perArm;
      if (need !== null && Math.min(a.n, b.n) < need) {
        warnings.push(
          `${d.metric}: ${Math.min(a.n, b.n)} impressions on the smaller arm, ${need} per arm needed to ` +
            `detect ${relative ? `${mde * 100}%` : mde} at power ${power}; trust the always-valid p until then`,
        );
      }
    }
  }
  return {
    name: meta.name,
    deploymentId: meta.deploymentId,
    alpha,
    power,
    mde,
    relative,
    lookEvery,
    arms,
    differences,
    srm,
    warnings,
    createdAt: Date.now(),
  };
}

/** The report of a deployment of `name` (by id, or its newest with a challenger), from the store's events. */
export async function businessAb(
  store: Store,
  name: string,
  o: BusinessOptions & { deploymentId?: number },
): Promise<BusinessAbReport> {
  const dep = await store.deployments.arms(o.deploymentId === undefined ? { abOf: name } : { id: o.deploymentId });
  if (!dep) {
    throw new AbError(
      o.deploymentId === undefined
        ? `${name} has no deployment with a challenger: serve it with a ` + 'challenger arm first'
        : `deployment ${o.deploymentId} does not exist (\`cairn deployments list\` shows them)`,
    );
  }
  if (dep.name !== name) throw new AbError(`deployment ${dep.id} serves ${dep.name}, not ${name}`);
  const outcomes = await store.abEvents.outcomes(dep.id);
  if (outcomes.length === 0) {
    throw new AbError(
      `deployment ${dep.id} has no shown impressions yet: ask it for top-k answers ` +
        '(POST /invocations?k=N) and send their impression events to /feedback',
    );
  }
  return businessReport(
    outcomes,
    {
      name,
      deploymentId: dep.id,
      versions: { champion: dep.version, challenger: dep.challengerVersion },
      split: dep.split,
    },
    o,
  );
}
