import type { GbdtEnsemble, GbdtTree } from '../models/artifact.js';
import { ExplainError } from './permutation.js';

/**
 * Path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree
 * ensembles", Algorithm 2): the exact Shapley values of E[f(x) | x_S], where a feature outside S is integrated out by
 * following both children of its splits weighted by their training cover. O(leaves · depth²) per tree and row, not
 * O(2^features). The code follows the paper's EXTEND / UNWIND / unwound sum on a path of unique features.
 * Values are in the margin (raw score) space: for a classifier the log-odds (binary) or per-class logits.
 */
interface PathElement {
  feature: number;
  zero: number;
  one: number;
  weight: number;
}

function extend(path: PathElement[], zero: number, one: number, feature: number): void {
  const depth = path.length;
  path.push({ feature, zero, one, weight: depth === 0 ? 1 : 0 });
  for (let i = depth - 1; i >= 0; i--) {
    const p = path[i] as PathElement;
    (path[i + 1] as PathElement).weight += (one * p.weight * (i + 1)) / (depth + 1);
    p.weight = (zero * p.weight * (depth - i)) / (depth + 1);
  }
}

function unwind(path: PathElement[], at: number): void {
  const depth = path.length - 1;
  const { one, zero } = path[at] as PathElement;
  let next = (path[depth] as PathElement).weight;
  for (let i = depth - 1; i >= 0; i--) {
    const p = path[i] as PathElement;
    if (one !== 0) {
      const t = p.weight;
      p.weight = (next * (depth + 1)) / ((i + 1) * one);
      next = t - (p.weight * zero * (depth - i)) / (depth + 1);
    } else {
      p.weight = (p.weight * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = at; i < depth; i++) {
    const p = path[i] as PathElement;
    const q = path[i + 1] as PathElement;
    p.feature = q.feature;
    p.zero = q.zero;
    p.one = q.one;
  }
  path.pop();
}

function unwoundSum(path: PathElement[], at: number): number {
  const depth = path.length - 1;
  const { one, zero } = path[at] as PathElement;
  let next = (path[depth] as PathElement).weight;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    const w = (path[i] as PathElement).weight;
    if (one !== 0) {
      const t = (next * (depth + 1)) / ((i + 1) * one);
      total += t;
      next = w - (t * zero * (depth - i)) / (depth + 1);
    } else {
      total += (w / zero) * ((depth + 1) / (depth - i));
    }
  }
  return total;
}

function coverOf(tree: GbdtTree, index: number): number[] {
  const { cover } = tree;
  if (!cover || cover.length !== tree.feature.length)
    throw new ExplainError(
      `tree ${index} has no node cover (a model trained before explanations existed): train it again to explain it`,
    );
  return cover;
}

/** Adds tree's contributions for one row (`x` at `offset`) into phi[0..width). */
function treeShap(tree: GbdtTree, cover: number[], x: ArrayLike<number>, offset: number, phi: Float64Array): void {
  const recurse = (node: number, parent: PathElement[], zero: number, one: number, feature: number): void => {
    const path = parent.map((p) => ({ ...p }));
    extend(path, zero, one, feature);
    const f = tree.feature[node] ?? -1;
    if (f < 0) {
      const v = tree.value[node] ?? 0;
      for (let i = 1; i < path.length; i++) {
        const p = path[i] as PathElement;
        phi[p.feature] = (phi[p.feature] ?? 0) + unwoundSum(path, i) * (p.one - p.zero) * v;
      }
      return;
    }
    const left = tree.left[node] ?? 0;
    const right = tree.right[node] ?? 0;
    const goesLeft = (x[offset + f] ?? 0) <= (tree.threshold[node] ?? 0);
    const [hot, cold] = goesLeft ? [left, right] : [right, left];
    const here = cover[node] ?? 0;
    let inZero = 1;
    let inOne = 1;
    const seen = path.findIndex((p, i) => i > 0 && p.feature === f);
    if (seen > 0) {
      inZero = (path[seen] as PathElement).zero;
      inOne = (path[seen] as PathElement).one;
      unwind(path, seen);
    }
    const share = (child: number) => (here > 0 ? (cover[child] ?? 0) / here : 0);
    recurse(hot, path, share(hot) * inZero, inOne, f);
    recurse(cold, path, share(cold) * inZero, 0, f);
  };
  recurse(0, [], 1, 1, -1);
}

/** E[tree] under the cover: the leaves' values weighted by their share of the root's cover. */
function expectedValue(tree: GbdtTree, cover: number[]): number {
  const root = cover[0] ?? 0;
  let s = 0;
  tree.feature.forEach((f, n) => {
    if (f < 0) s += (tree.value[n] ?? 0) * (root > 0 ? (cover[n] ?? 0) / root : 0);
  });
  return s;
}

export interface Contributions {
  /** [rows × outputs × width] contributions per encoded input, in the margin space. */
  values: Float64Array;
  /** Expected margin per output: contributions of a row sum to its margin minus this. */
  base: number[];
  outputs: number;
  width: number;
}

/** TreeSHAP of every row of the encoded float32 matrix `x` ([rows × width]). */
export function treeContributions(e: GbdtEnsemble, x: Float32Array, rows: number, width: number): Contributions {
  const covers = e.trees.map((t, i) => coverOf(t, i));
  const k = e.outputs;
  const base = Array.from({ length: k }, (_, c) => e.baseScore[c] ?? 0);
  e.trees.forEach((t, i) => (base[i % k] = (base[i % k] ?? 0) + expectedValue(t, covers[i] ?? [])));
  const values = new Float64Array(rows * k * width);
  for (let r = 0; r < rows; r++) {
    e.trees.forEach((t, i) => {
      const phi = values.subarray((r * k + (i % k)) * width, (r * k + (i % k) + 1) * width);
      treeShap(t, covers[i] ?? [], x, r * width, phi);
    });
  }
  return { values, base, outputs: k, width };
}
