import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  meanEstimate,
  moments,
  msprtLook,
  perArmForPower,
  sampleSizeMean,
  sampleSizeProportions,
  sequentialTest,
  srmCheck,
  welchTTest,
  wilsonInterval,
} from '../../../runtime/src/ab/businessStats.js';
import { normalQuantile, normalSf, studentTQuantile, studentTSf } from '../../../runtime/src/ab/distributions.js';
import { twoProportionZTest } from '../../../runtime/src/ab/stats.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { assertClose } from '../ml/golden.js';

// Every number against scipy, computed here by /usr/bin/python3 (Debian python3-scipy); statsmodels' formulas
// (proportion_confint wilson, NormalIndPower) are written out in the script since statsmodels is not installed.

const REFERENCE = String.raw`
import json, math, sys
import numpy as np
from scipy import stats, optimize
c = json.load(sys.stdin)
out = {}
out['normSf'] = [float(stats.norm.sf(x)) for x in c['normSf']]
out['normPpf'] = [float(stats.norm.ppf(p)) for p in c['normPpf']]
out['tSf'] = [float(stats.t.sf(t, df)) for t, df in c['tSf']]
# scipy 1.10's t.ppf (cephes stdtrit) is off by ~1e-8 at fractional df (its own t.sf at it misses p by that much):
# the reference quantile inverts scipy's t.sf to full precision instead.
def tppf(p, df):
    if p < 0.5: return -tppf(1 - p, df)
    return optimize.brentq(lambda t: stats.t.sf(t, df) - (1 - p), 0, 1e6, xtol=1e-300, rtol=1e-15, maxiter=1000)
out['tPpf'] = [tppf(p, df) for p, df in c['tPpf']]
def wilson(s, n, alpha):
    z = stats.norm.isf(alpha / 2); p = s / n; q = z * z
    d = 1 + q / n; centre = (p + q / (2 * n)) / d; half = z * math.sqrt(p * (1 - p) / n + q / (4 * n * n)) / d
    return [centre - half, centre + half]
out['wilson'] = [wilson(*w) for w in c['wilson']]
def wald(sa, na, sb, nb, alpha):
    pa, pb = sa / na, sb / nb; z = stats.norm.isf(alpha / 2)
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb); d = pb - pa
    return [d - z * se, d + z * se]
out['wald'] = [wald(*w) for w in c['wald']]
welch = []
for a, b, alpha in c['welch']:
    a, b = np.array(a), np.array(b)
    r = stats.ttest_ind(b, a, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    d = b.mean() - a.mean(); half = tppf(1 - alpha / 2, df) * math.sqrt(va + vb)
    hm = tppf(1 - alpha / 2, len(a) - 1) * stats.sem(a); lo, hi = a.mean() - hm, a.mean() + hm
    welch.append(dict(t=float(r.statistic), p=float(r.pvalue), df=float(df), ci=[d - half, d + half], meanCi=[lo, hi]))
out['welch'] = welch
def power(h, n, alpha):
    crit = stats.norm.isf(alpha / 2); s = abs(h) * math.sqrt(n / 2)
    return stats.norm.sf(crit - s) + stats.norm.cdf(-crit - s)
def n_for(h, alpha, pw):
    return optimize.brentq(lambda n: power(h, n, alpha) - pw, 1e-6, 1e12, xtol=1e-14, rtol=1e-15, maxiter=500)
out['sizeProp'] = []
for p1, mde, rel, alpha, pw in c['sizeProp']:
    p2 = p1 * (1 + mde) if rel else p1 + mde
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    out['sizeProp'].append(dict(h=h, n=n_for(h, alpha, pw)))
out['sizeMean'] = [dict(d=mde / sd, n=n_for(mde / sd, alpha, pw)) for mde, sd, alpha, pw in c['sizeMean']]
def msprt(d, v, tau2, alpha):
    lam = math.sqrt(v / (v + tau2)) * math.exp(tau2 * d * d / (2 * v * (v + tau2)))
    half = math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) - 2 * math.log(alpha)))
    return dict(lam=lam, ci=[d - half, d + half])
out['msprt'] = [msprt(*m) for m in c['msprt']]
out['srm'] = []
for obs, shares in c['srm']:
    exp = np.array(shares) / sum(shares) * sum(obs)
    r = stats.chisquare(obs, exp)
    out['srm'].append(dict(stat=float(r.statistic), p=float(r.pvalue)))
json.dump(out, sys.stdout)
`;

function sample(seed: number, n: number, rate: number, price: number): number[] {
  // Revenue per impression: mostly 0, a purchase at a price that varies around `price`.
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => (r() < rate ? Math.round(price * (0.5 + r()) * 100) / 100 : 0));
}

const cases = {
  normSf: [-8, -1.5, 0, 0.3, 1.959963984540054, 4, 9.5],
  normPpf: [1e-12, 0.001, 0.02, 0.024, 0.2, 0.5, 0.8, 0.95, 0.975, 0.999, 1 - 1e-9],
  tSf: [
    [0.5, 3],
    [2.1, 7.5],
    [-1.2, 20],
    [3.3, 150.25],
    [12, 2],
    [0.01, 1000],
  ] as Array<[number, number]>,
  tPpf: [
    [0.975, 1],
    [0.975, 2.5],
    [0.9, 10],
    [0.995, 33.7],
    [0.95, 30.123456],
    [0.025, 400],
    [0.6, 5],
  ] as Array<[number, number]>,
  wilson: [
    [0, 20, 0.05],
    [3, 20, 0.05],
    [120, 1000, 0.05],
    [999, 1000, 0.1],
    [5000, 5000, 0.01],
  ] as Array<[number, number, number]>,
  wald: [
    [120, 1000, 141, 1010, 0.1],
    [30, 500, 22, 480, 0.01],
  ] as Array<[number, number, number, number, number]>,
  welch: [
    [sample(1, 800, 0.05, 20), sample(2, 760, 0.06, 22), 0.05],
    [sample(3, 40, 0.4, 5), sample(4, 25, 0.2, 12), 0.1],
  ] as Array<[number[], number[], number]>,
  sizeProp: [
    [0.1, 0.01, false, 0.05, 0.8],
    [0.05, 0.1, true, 0.05, 0.9],
    [0.5, -0.02, false, 0.01, 0.8],
  ] as Array<[number, number, boolean, number, number]>,
  sizeMean: [
    [0.1, 2.5, 0.05, 0.8],
    [-0.5, 4, 0.1, 0.95],
  ] as Array<[number, number, number, number]>,
  msprt: [
    [0.01, 1e-4, 1e-4, 0.05],
    [-0.003, 2e-6, 1e-4, 0.05],
    [0.2, 0.05, 0.01, 0.1],
  ] as Array<[number, number, number, number]>,
  srm: [
    [
      [5000, 5000],
      [1, 1],
    ],
    [
      [5100, 4900],
      [1, 1],
    ],
    [
      [8210, 1790],
      [0.8, 0.2],
    ],
    [
      [120, 100, 95],
      [1, 1, 1],
    ],
  ] as Array<[number[], number[]]>,
};

interface Reference {
  normSf: number[];
  normPpf: number[];
  tSf: number[];
  tPpf: number[];
  wilson: Array<[number, number]>;
  wald: Array<[number, number]>;
  welch: Array<{ t: number; p: number; df: number; ci: [number, number]; meanCi: [number, number] }>;
  sizeProp: Array<{ h: number; n: number }>;
  sizeMean: Array<{ d: number; n: number }>;
  msprt: Array<{ lam: number; ci: [number, number] }>;
  srm: Array<{ stat: number; p: number }>;
}

const ref = JSON.parse(
  execFileSync('/usr/bin/python3', ['-c', REFERENCE], { input: JSON.stringify(cases) }).toString(),
) as Reference;

function at<T>(xs: readonly T[], i: number): T {
  const v = xs[i];
  assert.ok(v !== undefined, `reference row ${i}`);
  return v;
}

describe('A/B business statistics vs scipy', () => {
  test('normal and Student-t survival functions and quantiles', () => {
    cases.normSf.forEach((x, i) => assertClose(normalSf(x), at(ref.normSf, i), `norm.sf(${x})`, 1e-12));
    cases.normPpf.forEach((p, i) => assertClose(normalQuantile(p), at(ref.normPpf, i), `norm.ppf(${p})`, 1e-12));
    cases.tSf.forEach(([t, df], i) => assertClose(studentTSf(t, df), at(ref.tSf, i), `t.sf(${t}, ${df})`, 1e-10));
    cases.tPpf.forEach(([p, df], i) =>
      assertClose(studentTQuantile(p, df), at(ref.tPpf, i), `t.ppf(${p}, ${df})`, 1e-12),
    );
  });

  test('Wilson score intervals, and the z-test difference interval at any alpha', () => {
    cases.wilson.forEach(([s, n, alpha], i) => {
      const ci = wilsonInterval(s, n, alpha);
      const r = at(ref.wilson, i);
      assertClose(ci[0], r[0], `wilson ${s}/${n} low`, 1e-12);
      assertClose(ci[1], r[1], `wilson ${s}/${n} high`, 1e-12);
    });
    cases.wald.forEach(([sa, na, sb, nb, alpha], i) => {
      const t = twoProportionZTest(sa, na, sb, nb, alpha);
      const r = at(ref.wald, i);
      assertClose(t.ci[0], r[0], `wald low at ${alpha}`, 1e-12);
      assertClose(t.ci[1], r[1], `wald high at ${alpha}`, 1e-12);
    });
  });

  test("Welch's t-test (t, df, p, interval) and the t interval of one arm's mean", () => {
    cases.welch.forEach(([a, b, alpha], i) => {
      const r = at(ref.welch, i);
      const w = welchTTest(moments(a), moments(b), alpha);
      assertClose(w.t, r.t, `welch ${i} t`, 1e-9);
      assertClose(w.df, r.df, `welch ${i} df`, 1e-9);
      assertClose(w.pValue, r.p, `welch ${i} p`, 1e-9);
      assertClose(w.ci[0], r.ci[0], `welch ${i} ci low`, 1e-9);
      assertClose(w.ci[1], r.ci[1], `welch ${i} ci high`, 1e-9);
      const m = meanEstimate(moments(a), alpha);
      assertClose(m.ci[0], r.meanCi[0], `mean ${i} ci low`, 1e-9);
      assertClose(m.ci[1], r.meanCi[1], `mean ${i} ci high`, 1e-9);
    });
  });

  test('sample size per arm for an MDE (absolute or relative), alpha and power, as NormalIndPower solves it', () => {
    cases.sizeProp.forEach(([p1, mde, relative, alpha, power], i) => {
      const r = at(ref.sizeProp, i);
      const s = sampleSizeProportions(p1, { mde, relative, alpha, power });
      assertClose(s.effectSize, r.h, `Cohen's h ${i}`, 1e-12);
      assertClose(perArmForPower(s.effectSize, alpha, power), r.n, `n ${i}`, 1e-9);
      assert.equal(s.perArm, Math.ceil(r.n));
    });
    cases.sizeMean.forEach(([mde, sd, alpha, power], i) => {
      const r = at(ref.sizeMean, i);
      const s = sampleSizeMean(1, sd, { mde, alpha, power });
      assertClose(s.effectSize, r.d, `d ${i}`, 1e-12);
      assert.equal(s.perArm, Math.ceil(r.n));
    });
    // A relative MDE is a share of the baseline.
    assert.deepEqual(
      sampleSizeMean(2, 1, { mde: 0.1, relative: true }).perArm,
      sampleSizeMean(2, 1, { mde: 0.2 }).perArm,
    );
  });

  test('mSPRT: the mixture likelihood ratio and the confidence sequence as the formula of Johari et al.', () => {
    cases.msprt.forEach(([d, v, tau2, alpha], i) => {
      const r = at(ref.msprt, i);
      const look = msprtLook(d, v, tau2, alpha);
      assertClose(look.lambda, r.lam, `lambda ${i}`, 1e-12);
      assertClose(look.ci[0], r.ci[0], `cs low ${i}`, 1e-12);
      assertClose(look.ci[1], r.ci[1], `cs high ${i}`, 1e-12);
    });
    // Over looks: the p-value is the running minimum of 1/Λ, the interval the intersection.
    const looks = cases.msprt.slice(0, 2).map(([difference, variance]) => ({ difference, variance }));
    const seq = sequentialTest(looks, 1e-4, 0.05);
    assertClose(seq.pValue, Math.min(1, 1 / at(ref.msprt, 0).lam, 1 / at(ref.msprt, 1).lam), 'running min p', 1e-12);
    assertClose(seq.ci[0], Math.max(at(ref.msprt, 0).ci[0], at(ref.msprt, 1).ci[0]), 'intersected low', 1e-12);
    assertClose(seq.ci[1], Math.min(at(ref.msprt, 0).ci[1], at(ref.msprt, 1).ci[1]), 'intersected high', 1e-12);
  });

  test('sample-ratio mismatch: chi-square goodness of fit against the configured split, alarm below p < 0.001', () => {
    cases.srm.forEach(([obs, shares], i) => {
      const r = at(ref.srm, i);
      const s = srmCheck(obs, shares);
      assertClose(s.chiSquare, r.stat, `srm ${i} chi2`, 1e-12);
      assertClose(s.pValue, r.p, `srm ${i} p`, 1e-9);
      assert.equal(s.mismatch, r.p < 0.001, `srm ${i} mismatch`);
    });
    assert.equal(srmCheck([8210, 1790], [0.8, 0.2]).mismatch, true);
    assert.equal(srmCheck([5000, 5000], [1, 1]).mismatch, false);
  });
});

describe('mSPRT under H0 with continuous peeking', () => {
  // 400 seeded A/A tests of a 10% CTR, 4,000 impressions per arm, looked at every 20: how many ever reject?
  function falsePositiveRates(): { msprt: number; naive: number } {
    const alpha = 0.05;
    const random = seededRandom(13);
    let msprtRejects = 0;
    let naiveRejects = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      let cA = 0;
      let cB = 0;
      let msprtRejected = false;
      let naiveRejected = false;
      let p = 1;
      for (let n = 1; n <= 4000; n++) {
        if (random() < 0.1) cA++;
        if (random() < 0.1) cB++;
        if (n % 20 !== 0) continue;
        const pA = cA / n;
        const pB = cB / n;
        const variance = (pA * (1 - pA) + pB * (1 - pB)) / n;
        if (!(variance > 0)) continue;
        // tau = an MDE of one point of CTR, the documented default (the squared absolute MDE).
        p = Math.min(p, 1 / msprtLook(pB - pA, variance, 0.01 ** 2, alpha).lambda);
        if (p < alpha) msprtRejected = true;
        if (twoProportionZTest(cA, n, cB, n).pValue < alpha) naiveRejected = true;
      }
      if (msprtRejected) msprtRejects++;
      if (naiveRejected) naiveRejects++;
    }
    return { msprt: msprtRejects / runs, naive: naiveRejects / runs };
  }

  test("the always-valid p-value's false-positive rate stays ≤ alpha; the peeked z-test's does not", () => {
    const rates = falsePositiveRates();
    assert.ok(rates.msprt <= 0.05, `mSPRT rejected ${rates.msprt} of A/A tests`);
    // The contrast shows the check can fail: peeking at a fixed-horizon test inflates its error several times.
    assert.ok(rates.naive > 0.15, `the peeked z-test rejected only ${rates.naive}`);
  });
});
