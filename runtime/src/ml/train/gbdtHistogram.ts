/**
 * The histogram kernel of gradient boosting, shared by the training thread and the histogram workers
 * (gbdtWorker.ts): per-bin sums of gradient, hessian and row count, three slots per bin.
 */
export interface HistogramInputs {
  /** Row-major [rows × width] bin indices. */
  bins: Uint8Array;
  width: number;
  /** First histogram slot of each feature. */
  offsets: Uint32Array;
  rows: Uint32Array;
  grad: Float64Array;
  hess: Float64Array;
}

/** Zeroes and fills `hist` for features[from, to) over rows[start, end). */
export function buildHistogram(inp: HistogramInputs, hist: Float64Array, start: number, end: number, features: Uint32Array, from: number, to: number): void {
  const { bins, width, offsets, rows, grad, hess } = inp;
  for (let j = from; j < to; j++) {
    const f = features[j] ?? 0;
    hist.fill(0, 3 * (offsets[f] ?? 0), 3 * (offsets[f + 1] ?? 0));
  }
  for (let i = start; i < end; i++) {
    const r = rows[i] ?? 0;
    const g = grad[r] ?? 0;
    const h = hess[r] ?? 0;
    const base = r * width;
    for (let j = from; j < to; j++) {
      const f = features[j] ?? 0;
      const s = 3 * ((offsets[f] ?? 0) + (bins[base + f] ?? 0));
      hist[s] = (hist[s] ?? 0) + g;
      hist[s + 1] = (hist[s + 1] ?? 0) + h;
      hist[s + 2] = (hist[s + 2] ?? 0) + 1;
    }
  }
}

/** Control words shared with the workers (Int32Array indices). */
export const CTL = { generation: 0, stop: 1, start: 2, end: 3, features: 4, done: 5, size: 6 } as const;
