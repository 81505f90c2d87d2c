#!/usr/bin/python3
"""Golden values for Cairn's A/B significance tests (runtime/src/ab/stats.ts), computed with Debian's python3-scipy.

Run from the repository root:
    /usr/bin/python3 scripts/golden/make_ab_golden.py
It writes test/fixtures/golden/ab.json: two-proportion z-tests (pooled z, two-sided p from scipy.stats.norm, the
unpooled 95% Wald interval), numpy percentiles, and percentile-bootstrap 95% intervals of a difference in mean squared
error from scipy.stats.bootstrap (2,000 resamples, paired and unpaired) on seeded squared errors, which the file
carries. A bootstrap is random: Cairn's seeded one is compared with scipy's within a Monte Carlo tolerance.
Re-running it gives the same file (fixed seeds). Test: test/runtime/deploy/abStats.test.ts.
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy import stats

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'golden', 'ab.json')


def ztest(sa, na, sb, nb):
    pa, pb = sa / na, sb / nb
    pooled = (sa + sb) / (na + nb)
    se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    z = (pb - pa) / se
    wald = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    q = stats.norm.ppf(0.975)
    return {'successA': sa, 'nA': na, 'successB': sb, 'nB': nb, 'z': float(z), 'pValue': float(2 * stats.norm.sf(abs(z))),
            'difference': pb - pa, 'ci': [float(pb - pa - q * wald), float(pb - pa + q * wald)]}


def main():
    z_cases = [ztest(*c) for c in [(412, 500, 441, 500), (80, 100, 82, 100), (9500, 10000, 9431, 10000), (3, 40, 12, 37)]]

    rng = np.random.default_rng(20261202)
    x = rng.normal(size=41)
    percentiles = [{'q': q, 'value': float(np.percentile(x, q))} for q in [0, 2.5, 50, 97.5, 100]]

    n = 400
    truth = rng.normal(3.5, 1.0, size=n)
    champ = truth + rng.normal(0, 0.95, size=n)
    chall = truth + rng.normal(0, 0.85, size=n)
    a = (champ - truth) ** 2
    b = (chall - truth) ** 2
    diff = lambda u, v, axis=-1: np.mean(v, axis=axis) - np.mean(u, axis=axis)
    paired = stats.bootstrap((a, b), diff, paired=True, vectorized=True, n_resamples=2000, method='percentile',
                             confidence_level=0.95, random_state=np.random.default_rng(1))
    m = 300
    a2 = a[:m]
    b2 = ((truth[:m] + rng.normal(0, 0.85, size=m)) - truth[:m]) ** 2
    unpaired = stats.bootstrap((a2, b2[:250]), diff, paired=False, vectorized=True, n_resamples=2000, method='percentile',
                               confidence_level=0.95, random_state=np.random.default_rng(2))
    out = {
        'generator': 'scripts/golden/make_ab_golden.py',
        'versions': {'python': sys.version.split()[0], 'numpy': np.__version__, 'scipy': scipy.__version__},
        'ztest': z_cases,
        'percentile': {'x': x.tolist(), 'cases': percentiles},
        'bootstrap': [
            {'paired': True, 'a': a.tolist(), 'b': b.tolist(), 'difference': float(b.mean() - a.mean()),
             'ci': [float(paired.confidence_interval.low), float(paired.confidence_interval.high)],
             'standardError': float(paired.standard_error)},
            {'paired': False, 'a': a2.tolist(), 'b': b2[:250].tolist(), 'difference': float(b2[:250].mean() - a2.mean()),
             'ci': [float(unpaired.confidence_interval.low), float(unpaired.confidence_interval.high)],
             'standardError': float(unpaired.standard_error)},
        ],
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
