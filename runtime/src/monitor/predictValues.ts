import type { Table } from '../ml/types.js';
import { cellValue, getColumn } from '../ml/data/index.js';
import { loadPredictor, readModelFile } from '../ml/models/index.js';

/**
 * A model's answer per row, as `cairn serve` logs it (prediction_json): a classifier's label, a regressor's value, a
 * recommender's predicted rating for the row's user and item. Used for the monitored `prediction` column (the model
 * on its training rows) and for A/B replays (both models on the holdout rows). Throws when the table lacks a column
 * the model needs (a recommender's user or item column; a tabular model's inputs fail in its predictor).
 */
export async function predictedValues(
  file: string,
  table: Table,
): Promise<{ task: 'classification' | 'regression'; values: unknown[] }> {
  const predictor = await loadPredictor(file);
  if (predictor.kind === 'recommender') {
    const m = await readModelFile(file);
    if (m.kind === 'tabular') throw new Error(`${file}: a tabular model file loaded as a recommender`);
    const ids = (name: string) => {
      const col = getColumn(table, name, 'the table');
      return Array.from({ length: table.rowCount }, (_, i) => cellValue(col, i) as string | number);
    };
    return { task: 'regression', values: Array.from(await predictor.score(ids(m.columns.user), ids(m.columns.item))) };
  }
  const scores = await predictor.predict(table);
  const values: unknown[] = [];
  for (let r = 0; r < table.rowCount; r++) {
    if (predictor.task === 'regression') values.push(scores.values[r * scores.width]);
    else {
      let best = 0;
      for (let j = 1; j < scores.width; j++)
        if ((scores.values[r * scores.width + j] ?? 0) > (scores.values[r * scores.width + best] ?? 0)) best = j;
      values.push(predictor.classes?.[best] ?? best);
    }
  }
  return { task: predictor.task, values };
}

/** A logged prediction (predictions.prediction_json) as one value: a classifier's label, else the number. */
export function loggedPrediction(json: string): { task: 'classification' | 'regression'; value: unknown } {
  const p: unknown = JSON.parse(json);
  if (typeof p === 'object' && p !== null && !Array.isArray(p) && 'label' in p)
    return { task: 'classification', value: p.label };
  return { task: typeof p === 'number' ? 'regression' : 'classification', value: p };
}
