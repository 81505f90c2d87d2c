import type { AbResult } from '@cairn/protocol';

/** A replayed A/B result where the challenger wins on accuracy (a two-proportion z-test). */
export function abResultFixture(overrides: Partial<AbResult['test']> = {}): AbResult {
  return {
    id: 7,
    name: 'credit-risk',
    championVersion: 2,
    challengerVersion: 3,
    source: 'replay',
    deploymentId: null,
    holdout: 'data/holdout.csv',
    arms: [
      { arm: 'champion', version: 2, requests: 1336, labelled: 1336, metrics: { accuracy: 0.781, roc_auc: 0.822 } },
      { arm: 'challenger', version: 3, requests: 1336, labelled: 1336, metrics: { accuracy: 0.812, roc_auc: 0.838 } },
    ],
    test: {
      method: 'two-proportion-z',
      metric: 'accuracy',
      lowerIsBetter: false,
      champion: 0.781,
      challenger: 0.812,
      difference: 0.031,
      ci: [0.0004, 0.0616],
      pValue: 0.047,
      alpha: 0.05,
      winner: 'challenger',
      statement:
        'Two-proportion z-test on accuracy over 1,336 replayed rows per arm: challenger 0.812 vs champion 0.781, difference +0.031 (95% CI 0.0004 to 0.0616), p = 0.047 < 0.05: the challenger is better.',
      ...overrides,
    },
    createdAt: Date.UTC(2026, 11, 1, 14, 30),
  };
}
