import { z } from 'zod';
import { seededRandom } from '../prng.js';

/**
 * Sweeps: a `matrix:` on a pipeline (or `cairn sweep -p lr=0.001,0.01`) expands into combinations of param values;
 * each combination is one normal run with those params overridden. The one definition of the `matrix:` language and of
 * its expansion (the CLI, the runtime and the language server all use it).
 */

const scalar = z.union([z.number(), z.string(), z.boolean()]);
export type MatrixValue = z.infer<typeof scalar>;

const range = (what: string) =>
  z
    .tuple([z.number(), z.number()])
    .refine(([lo, hi]) => lo <= hi, { message: `${what}: write [low, high] with low <= high` });

export const distributionSchema = z
  .union([
    z.object({ uniform: range('uniform').describe('A float drawn uniformly from [low, high].') }).strict(),
    z
      .object({
        log_uniform: range('log_uniform')
          .refine(([lo]) => lo > 0, { message: 'log_uniform: both bounds must be above 0' })
          .describe('A float drawn uniformly on a log scale from [low, high] (learning rates, regularization).'),
      })
      .strict(),
    z
      .object({
        int_uniform: range('int_uniform')
          .refine(([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi), {
            message: 'int_uniform: both bounds must be whole numbers',
          })
          .describe('A whole number drawn uniformly from [low, high], both included.'),
      })
      .strict(),
    z.object({ choice: z.array(scalar).min(1).describe('One of these values, each equally likely.') }).strict(),
  ])
  .describe(
    'How a random search draws a param: `{ uniform | log_uniform | int_uniform: [low, high] }` or `{ choice: [...] }`.',
  );
export type Distribution = z.infer<typeof distributionSchema>;

export const matrixSchema = z
  .object({
    params: z
      .record(z.string(), z.array(scalar).min(1))
      .optional()
      .describe('Grid search: param → the values to try; every combination runs (`lr: [0.001, 0.01]`).'),
    random: z
      .object({
        n: z.number().int().min(1).max(10_000).describe('How many random combinations to draw.'),
        seed: z
          .number()
          .int()
          .optional()
          .describe('Seed of the draw (default 0): the same seed draws the same values.'),
        params: z.record(z.string(), distributionSchema).describe('Param → how to draw it.'),
      })
      .strict()
      .optional()
      .describe(
        'Random search: `n` combinations drawn with `seed`; with `params:` too, each draw runs with every grid point.',
      ),
    parallel: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Combinations run at once at most (default: as many as the cores allow).'),
  })
  .strict()
  .refine((m) => m.params !== undefined || m.random !== undefined, {
    message: 'a matrix needs `params:` (a grid) or `random:` (a random search), or both',
  })
  .describe('A parameter sweep: every combination is one run, grouped under one sweep (`cairn sweep`).');
export type Matrix = z.infer<typeof matrixSchema>;

/** One combination: param name → value, in the matrix's param order. */
export type Combination = Record<string, MatrixValue>;

/** Six significant digits: draws stay readable in tables and stable as override strings. */
const round = (x: number) => Number(x.toPrecision(6));

function draw(d: Distribution, next: () => number): MatrixValue {
  if ('uniform' in d) return round(d.uniform[0] + next() * (d.uniform[1] - d.uniform[0]));
  if ('log_uniform' in d) {
    const [lo, hi] = d.log_uniform.map(Math.log) as [number, number];
    return round(Math.exp(lo + next() * (hi - lo)));
  }
  if ('int_uniform' in d) return d.int_uniform[0] + Math.floor(next() * (d.int_uniform[1] - d.int_uniform[0] + 1));
  return d.choice[Math.floor(next() * d.choice.length)] ?? d.choice[0] ?? '';
}

function grid(params: Record<string, MatrixValue[]>): Combination[] {
  let out: Combination[] = [{}];
  for (const [name, values] of Object.entries(params)) {
    out = out.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return out;
}

/** Every combination of a matrix: the grid (first param varies slowest) × the random draws. Duplicates removed. */
export function expandMatrix(matrix: Matrix): Combination[] {
  const points = grid(matrix.params ?? {});
  let combos = points;
  if (matrix.random) {
    const next = seededRandom(matrix.random.seed ?? 0);
    const draws: Combination[] = [];
    for (let i = 0; i < matrix.random.n; i++) {
      const c: Combination = {};
      for (const [name, d] of Object.entries(matrix.random.params)) c[name] = draw(d, next);
      draws.push(c);
    }
    combos = draws.flatMap((d) => points.map((p) => ({ ...p, ...d })));
  }
  const seen = new Set<string>();
  return combos.filter((c) => {
    const key = JSON.stringify(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The params a matrix sets (what the sweep table and the parallel-coordinates axes show). */
export function matrixParams(matrix: Matrix): string[] {
  return [...new Set([...Object.keys(matrix.params ?? {}), ...Object.keys(matrix.random?.params ?? {})])];
}

/** A combination as `-p` overrides (typed later by each param's declared type, as for `cairn run -p`). */
export function combinationOverrides(c: Combination): Record<string, string> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
}

/** `-p lr=0.001,0.01` → a grid entry: numbers where the text is a number, else the text. */
export function gridValues(text: string): MatrixValue[] {
  return text.split(',').map((v) => {
    const t = v.trim();
    const n = Number(t);
    return t !== '' && Number.isFinite(n) ? n : t;
  });
}
