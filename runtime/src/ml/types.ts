/**
 * Shared ML types of the runtime: the in-memory table (runtime/src/ml/data/ reads and writes it), and what a trained
 * model offers to evaluation and serving (runtime/src/ml/models/ loads Cairn models and ONNX models into these).
 */

export type ColumnType = 'int' | 'float' | 'bool' | 'timestamp' | 'string';

/** Numbers (ints, floats, bools as 0/1, timestamps as epoch milliseconds); `missing[i] === 1` marks a missing cell. */
export interface NumericColumn {
  name: string;
  type: 'int' | 'float' | 'bool' | 'timestamp';
  values: Float64Array;
  missing: Uint8Array | null;
}

/** Text and categories; null marks a missing cell. */
export interface StringColumn {
  name: string;
  type: 'string';
  values: Array<string | null>;
}

export type Column = NumericColumn | StringColumn;

export interface Table {
  rowCount: number;
  columns: Column[];
}

/** Row-major scores: `values[row * width + j]`. */
export interface Scores {
  values: Float64Array;
  width: number;
}

/** A tabular model: classifiers give one probability per class, regressors one value. */
export interface TabularPredictor {
  kind: 'tabular';
  task: 'classification' | 'regression';
  /** Class labels in score order (classifiers). */
  classes?: Array<string | number>;
  /** Raw input columns the model needs (before its saved transform). */
  inputColumns: string[];
  predict(table: Table): Promise<Scores>;
}

/** A recommender: scores user–item pairs and produces top-k lists. */
export interface RecommenderPredictor {
  kind: 'recommender';
  /** Predicted rating (or score) per (user, item) pair; unknown ids get the model's fallback. */
  score(users: ArrayLike<string | number>, items: ArrayLike<string | number>): Promise<Float64Array>;
  /** Top-k item ids per user, best first, skipping `exclude`d items of that user. */
  recommend(
    users: Array<string | number>,
    k: number,
    exclude?: Map<string | number, Set<string | number>>,
  ): Promise<Array<Array<string | number>>>;
  /** Items the model can recommend (for catalogue coverage). */
  catalogue(): Array<string | number>;
}

export type Predictor = TabularPredictor | RecommenderPredictor;
