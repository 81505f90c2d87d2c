/**
 * The histogram kernel of gradient boosting, shared by the training thread and the histogram workers
 * (gbdtWorker.ts): per-bin sums of gradient, hessian and row count, three slots per bin.
 *
 * Rows are stored sparsely: a feature may have a default bin (its most frequent one, when it holds half the rows or
 * more: 0 for a one-hot column), and a row lists only the histogram slots of its features that are not in their default bin. A default bin's sums are
 * the node's totals minus the feature's other bins (LightGBM's trick), so a one-hot block costs one entry per row
 * instead of one per category. Features are cut into blocks (one per thread), each with its own row lists: a slot
 * belongs to one block and is summed in row order whatever the thread count, so every count gives the same trees.
 */
export interface SparseBlock {
  /** Row r's entries are slots[rowStart[r], rowStart[r + 1]). */
  rowStart: Uint32Array;
  /** Histogram slot (feature offset + bin) of each non-default entry. */
  slots: Uint32Array;
}

export interface HistogramInputs {
  rows: Uint32Array;
  grad: Float64Array;
  hess: Float64Array;
}

/** Adds rows[start, end) of one block into `hist` (zeroed beforehand). */
export function accumulate(
  inp: HistogramInputs,
  block: SparseBlock,
  hist: Float64Array,
  start: number,
  end: number,
): void {
  const { rows, grad, hess } = inp;
  const { rowStart, slots } = block;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const g = grad[r]!;
    const h = hess[r]!;
    const to = rowStart[r + 1]!;
    for (let k = rowStart[r]!; k < to; k++) {
      const s = 3 * slots[k]!;
      hist[s]! += g;
      hist[s + 1]! += h;
      hist[s + 2]! += 1;
    }
  }
}

/**
 * Fills each listed feature's default bin: the node's totals (g, h, count) minus the feature's other bins.
 * `offsets[f]` is feature f's first slot, `defaults[f]` its default slot.
 */
export function fillDefaults(
  hist: Float64Array,
  features: Uint32Array,
  offsets: Uint32Array,
  defaults: Uint32Array,
  g: number,
  h: number,
  count: number,
): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j]!;
    if (defaults[f] === NO_DEFAULT) continue;
    const d = 3 * defaults[f]!;
    let sg = 0;
    let sh = 0;
    let sc = 0;
    for (let s = 3 * offsets[f]!, to = 3 * offsets[f + 1]!; s < to; s += 3) {
      if (s === d) continue;
      sg += hist[s]!;
      sh += hist[s + 1]!;
      sc += hist[s + 2]!;
    }
    hist[d] = g - sg;
    hist[d + 1] = h - sh;
    hist[d + 2] = count - sc;
  }
}

/** `defaults[f]` of a feature without a dominant bin: every row lists its bin. */
export const NO_DEFAULT = 0xffffffff;

/** Control words shared with the workers (Int32Array indices). */
export const CTL = { generation: 0, stop: 1, start: 2, end: 3, done: 4, size: 5 } as const;
