import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Explanations, RowContribution } from '@cairn/protocol';
import { cellText } from '../data/table.js';
import { readModelFile } from '../models/artifact.js';
import type { TabularModel } from '../models/artifact.js';
import type { Table, TabularPredictor } from '../types.js';
import { contributions, explainable, type RowContributions } from './contributions.js';
import { permutationImportance } from './permutation.js';

/**
 * explanations.json of evaluate.* with `explain: true`: permutation importance on the test rows with the model's own
 * metric, and the exact contributions of the first `rows` test rows where the model has them.
 */
export interface ExplainOptions {
  repeats: number;
  rows: number;
  seed: number;
}

/**
 * The model.json holding what contributions need (trees, weights): the file itself, or for a Cairn ONNX export the
 * model.json its train step wrote next to it. Null with the reason where there is none.
 */
export async function explainableModel(path: string): Promise<{ model: TabularModel } | { why: string }> {
  let json = path;
  if (path.toLowerCase().endsWith('.onnx')) {
    json = join(dirname(path), 'model.json');
    try {
      await access(json);
    } catch {
      return { why: `${path}: no model.json next to the ONNX model, so no tree or weight structure to explain rows` };
    }
  }
  const m = await readModelFile(json);
  if (m.kind !== 'tabular') return { why: `${json} is a ${m.kind} model: per-row contributions are for tabular ones` };
  const why = explainable(m);
  return why ? { why } : { model: m };
}

/** Row r of a contributions block as JSON: values[output][feature] and the margin per output. */
export function rowOf(c: RowContributions, r: number): RowContribution {
  const f = c.features.length;
  const k = c.outputs.length;
  return {
    values: Array.from({ length: k }, (_, o) => Array.from(c.values.subarray((r * k + o) * f, (r * k + o + 1) * f))),
    margin: Array.from(c.margin.subarray(r * k, (r + 1) * k)),
  };
}

export function headerOf(c: RowContributions, m: TabularModel) {
  return {
    method: m.ensemble ? ('tree-shap' as const) : ('linear' as const),
    link: c.link,
    features: c.features,
    outputs: c.outputs,
    base: c.base,
  };
}

export async function buildExplanations(
  modelPath: string,
  testPath: string,
  predictor: TabularPredictor,
  table: Table,
  target: string,
  opts: ExplainOptions,
): Promise<Explanations> {
  const importance = await permutationImportance(predictor, table, target, { repeats: opts.repeats, seed: opts.seed });
  const found = await explainableModel(modelPath);
  const base = {
    format: 'cairn.explanations' as const,
    version: 1 as const,
    model: modelPath,
    test: testPath,
    importance,
  };
  if ('why' in found) return { ...base, contributions: null, note: found.why };
  const n = Math.min(opts.rows, table.rowCount);
  const sample: Table = {
    rowCount: n,
    columns: table.columns.map((col) =>
      col.type === 'string'
        ? { ...col, values: col.values.slice(0, n) }
        : { ...col, values: col.values.slice(0, n), missing: col.missing ? col.missing.slice(0, n) : null },
    ),
  };
  const c = contributions(found.model, sample);
  const inputs = (r: number): Record<string, string | number | null> =>
    Object.fromEntries(
      predictor.inputColumns.map((name) => {
        const col = sample.columns.find((x) => x.name === name);
        if (!col) return [name, null];
        return [
          name,
          col.type === 'string' ? (col.values[r] ?? null) : cellText(col, r) === null ? null : (col.values[r] ?? null),
        ];
      }),
    );
  const rows = Array.from({ length: n }, (_, r) => ({ row: r, inputs: inputs(r), ...rowOf(c, r) }));
  return { ...base, contributions: { ...headerOf(c, found.model), rows } };
}
