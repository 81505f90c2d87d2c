import { MetricInputError } from './classification.js';

/** Regression metrics as sklearn defines them: RMSE = sqrt(mean (y − ŷ)²), MAE = mean |y − ŷ|, R² = 1 − SS_res/SS_tot. */
function check(y: ArrayLike<number>, p: ArrayLike<number>): void {
  if (y.length !== p.length)
    throw new MetricInputError(`true and predicted values differ in length (${y.length} vs ${p.length})`);
  if (y.length === 0) throw new MetricInputError('no rows to evaluate');
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]) || !Number.isFinite(p[i])) {
      throw new MetricInputError(
        `row ${i + 1}: ${Number.isFinite(y[i]) ? 'prediction' : 'true value'} is missing or not a number`,
      );
    }
  }
}

export function rmse(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += ((y[i] as number) - (p[i] as number)) ** 2;
  return Math.sqrt(s / y.length);
}

export function mae(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs((y[i] as number) - (p[i] as number));
  return s / y.length;
}

/** R²; a constant true column gives 1 for a perfect fit and 0 otherwise (sklearn's force_finite). */
export function r2(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i] as number;
  mean /= y.length;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < y.length; i++) {
    res += ((y[i] as number) - (p[i] as number)) ** 2;
    tot += ((y[i] as number) - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}
