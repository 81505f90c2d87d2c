import { z } from 'zod';
import { driftOverrideSchema } from '../drift.js';

/**
 * The catalogue of built-in steps (`uses:`), one definition for the language server (completion, hover, `with:`
 * checks), the runtime (which implements each name in runtime/src/builtins/) and the docs.
 *
 * Option schemas describe the values *after* interpolation. A path option (`kind: 'input'`) names a file: a data
 * file of the workspace or, through `${steps.s.outputs.o}` / `${data.d}`, another step's output.
 * `version` is part of the step's cache key: bump it when a built-in's results change for the same inputs.
 */
export interface BuiltinOutput {
  /** File name the runtime gives the output inside the step's output folder. */
  file: string;
  description: string;
  /** Produced only when an option asks for it (e.g. a validation split). */
  optional?: boolean;
}

export interface BuiltinSpec {
  name: string;
  version: number;
  category: 'data' | 'features' | 'train' | 'evaluate' | 'drift' | 'model';
  summary: string;
  /** Options of `with:`; every field carries a `.describe()` shown in hover and completion. */
  options: z.ZodObject<z.ZodRawShape>;
  /** Option names whose values are files read by the step (artifacts: hashed for the cache, edges in lineage). */
  inputs: readonly string[];
  outputs: Readonly<Record<string, BuiltinOutput>>;
  /** Metric names the step reports; usable in `gate:` and in model cards. `@k` stands for the `k` option. */
  metrics: readonly string[];
}

const path = z.string().min(1);
const column = z.string().min(1);
const seed = z
  .number()
  .int()
  .min(0)
  .default(42)
  .describe('Random seed: the same seed and backend give the same results.');
const fraction = (d: string) => z.number().gt(0).lt(1).describe(d);

/** evaluate.classification / evaluate.regression: explanations.json on request (docs/ml.md, "Explanations"). */
const explainOptions = {
  explain: z
    .boolean()
    .default(false)
    .describe(
      'Write explanations.json: permutation importance with a confidence interval for every model, and exact ' +
        'per-row contributions (TreeSHAP for trees, w·(x − mean) for linear models) of the first explain_rows rows.',
    ),
  explain_repeats: z
    .number()
    .int()
    .min(2)
    .max(100)
    .default(5)
    .describe('Permutation importance: shuffles per feature.'),
  explain_rows: z.number().int().min(1).max(1000).default(20).describe('Test rows whose contributions are kept.'),
  seed,
};
const explanationsOutput = {
  file: 'explanations.json',
  description: 'Permutation importance (mean, std, 95% interval) and per-row contributions (with `explain: true`).',
  optional: true,
};

const columnRule = z
  .object({
    type: z.enum(['int', 'float', 'string', 'bool', 'category', 'timestamp']).describe('Expected column type.'),
    min: z.number().optional().describe('Smallest allowed value.'),
    max: z.number().optional().describe('Largest allowed value.'),
    required: z.boolean().optional().describe('Missing values are errors (default true).'),
    unique: z.boolean().optional().describe('Every value must be distinct.'),
    values: z
      .array(z.union([z.string(), z.number()]))
      .optional()
      .describe('Allowed categories.'),
    pii: z.boolean().optional().describe('The column holds personal data (overrides detection).'),
  })
  .strict();
export const columnSchemaSchema = z.record(z.string(), columnRule);

const earlyStopping = z
  .object({
    patience: z.number().int().min(1).default(3).describe('Epochs without improvement before training stops.'),
    min_delta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement.'),
  })
  .strict()
  .describe('Stop when the validation loss stops improving.');

const trainCommon = {
  epochs: z.number().int().min(1).default(20).describe('Passes over the training data.'),
  lr: z.number().gt(0).default(0.01).describe('Learning rate.'),
  l2: z.number().min(0).default(0).describe('L2 regularisation strength.'),
  batch_size: z.number().int().min(1).default(256).describe('Rows per gradient step.'),
  seed,
  valid_fraction: z
    .number()
    .min(0)
    .lt(1)
    .default(0.1)
    .describe('Share of the training rows held out to watch the loss (0 turns it off).'),
  early_stopping: earlyStopping.optional(),
};

const tabularTrain = {
  train: path.describe('Training data (CSV or JSON lines).'),
  target: column.describe('The column to predict.'),
  features: z.array(column).optional().describe('Feature columns (default: every column but the target).'),
  transform: path
    .optional()
    .describe('A saved feature transform (features.transform output) applied before the model.'),
  ...trainCommon,
};

const ratingColumns = {
  user: column.default('userId').describe('User id column.'),
  item: column.default('itemId').describe('Item id column.'),
  rating: column.default('rating').describe('Rating (explicit) or interaction weight (implicit) column.'),
};

/**
 * What evaluate.ranking reports, one list for the `metrics:` option, the catalogue entry and the runtime. `@k` becomes
 * the `k` option (ndcg@10). `rmse_known` / `rmse_cold` split the RMSE by whether the row's user and item both have
 * training ratings; `lift_ndcg@k` is the candidate's NDCG@k minus the best baseline's (gate on it with `min: 0`).
 */
export const rankingMetricNames = [
  'rmse',
  'mae',
  'rmse_known',
  'rmse_cold',
  'precision@k',
  'recall@k',
  'f1@k',
  'ndcg@k',
  'map@k',
  'hit_rate@k',
  'coverage',
  'lift_ndcg@k',
] as const;
export type RankingMetricName = (typeof rankingMetricNames)[number];
/** Row counts evaluate.ranking reports beside the RMSE split. */
export const rankingRowCounts = ['known_rows', 'cold_rows'] as const;

/** Item-feature options of the content-based and hybrid recommenders. */
const itemFeatures = {
  items: z
    .array(path)
    .optional()
    .describe(
      'Tables holding the item features (the item column plus genres and title), read for the catalogue: items in them without ratings are recommended and scored from their features (cold start). Default: the ratings table.',
    ),
  genres: column.default('genres').describe("Column of each item's genres, separated by `separator`."),
  title: column.optional().describe("Column of each item's title: its words become TF-IDF terms."),
  separator: z.string().min(1).default('|').describe('Separator of the genres.'),
  weighting: z
    .enum(['tfidf', 'binary'])
    .default('tfidf')
    .describe('Term weights of the item profiles: TF-IDF, or binary (genres one-hot).'),
  min_df: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe('Title words in fewer items than this are left out of the vocabulary.'),
};

const catalogue = [
  {
    name: 'data.load',
    version: 1,
    category: 'data',
    summary: 'Load a CSV or JSON-lines file, infer its schema, and write it as a clean CSV.',
    options: z
      .object({
        path: path.describe('The file to load, relative to the pipeline.'),
        format: z.enum(['auto', 'csv', 'jsonl']).default('auto').describe('File format (auto: by extension).'),
        columns: z.array(column).optional().describe('Keep only these columns.'),
      })
      .strict(),
    inputs: ['path'],
    outputs: {
      data: { file: 'data.csv', description: 'The loaded table.' },
      schema: { file: 'schema.json', description: 'The inferred schema.' },
    },
    metrics: ['rows', 'columns'],
  },
  {
    name: 'data.validate',
    version: 1,
    category: 'data',
    summary:
      'Check a table against a schema (types, ranges, missing values, uniqueness, categories), clean it, and report data quality and personal-data columns.',
    options: z
      .object({
        input: path.describe('The table to check.'),
        schema: columnSchemaSchema
          .optional()
          .describe('Rules per column (default: the `schema` of the data entry the input comes from).'),
        drop_duplicates: z.array(column).optional().describe('Drop rows that repeat these columns (keeps the last).'),
        drop_missing: z
          .boolean()
          .default(false)
          .describe('Drop rows with a missing required value instead of failing.'),
        fail_on: z
          .enum(['error', 'warning', 'never'])
          .default('error')
          .describe('Fail the step on findings of this severity or worse.'),
      })
      .strict(),
    inputs: ['input'],
    outputs: {
      clean: { file: 'clean.csv', description: 'Rows that pass the rules.' },
      report: {
        file: 'report.json',
        description: 'Data-quality report: per-column stats, findings, personal-data flags.',
      },
    },
    metrics: ['rows', 'dropped_rows', 'missing_share'],
  },
  {
    name: 'data.split',
    version: 1,
    category: 'data',
    summary: 'Split a table into train / test (and validation) sets: random, stratified, or by time.',
    options: z
      .object({
        input: path.describe('The table to split.'),
        test_fraction: fraction('Share of rows in the test set.').default(0.2),
        valid_fraction: z.number().min(0).lt(1).default(0).describe('Share of rows in a validation set (0: none).'),
        by: column.optional().describe('A time column: the latest rows form the test set (no shuffling).'),
        as_of: z
          .union([z.number(), z.string().min(1)])
          .optional()
          .describe(
            '"Now" for a time split (needs `by`): rows later than this are the future, left out of train and test and written to `future` (e.g. to replay as traffic). A value of the time column, or an ISO 8601 date for a timestamp column.',
          ),
        as_of_fraction: z
          .number()
          .gt(0)
          .max(1)
          .optional()
          .describe(
            '"Now" as the share of rows, in time order, seen so far (needs `by`; 1: every row, an empty future). The time of the last row seen becomes `as_of`.',
          ),
        stratify: column.optional().describe("Keep this column's class shares equal across the sets."),
        seed,
      })
      .strict(),
    inputs: ['input'],
    outputs: {
      train: { file: 'train.csv', description: 'Training rows.' },
      test: { file: 'test.csv', description: 'Test rows.' },
      valid: { file: 'valid.csv', description: 'Validation rows (when valid_fraction > 0).', optional: true },
      future: {
        file: 'future.csv',
        description: 'Rows later than `as_of`, oldest first (when as_of or as_of_fraction is set).',
        optional: true,
      },
    },
    metrics: ['train_rows', 'test_rows', 'future_rows', 'as_of'],
  },
  {
    name: 'features.transform',
    version: 1,
    category: 'features',
    summary:
      'Fit feature transforms (standardize, one-hot, hashing) on a table; save them so evaluation and serving apply exactly the same.',
    options: z
      .object({
        input: path.describe('The table to fit on (the training set).'),
        standardize: z.array(column).optional().describe('Numeric columns scaled to zero mean and unit variance.'),
        one_hot: z.array(column).optional().describe('Categorical columns expanded to one column per category.'),
        hash: z
          .object({ columns: z.array(column).min(1), buckets: z.number().int().min(2).default(1024) })
          .strict()
          .optional()
          .describe('High-cardinality columns hashed into a fixed number of buckets.'),
        drop: z.array(column).optional().describe('Columns left out.'),
        target: column.optional().describe('The label column: passed through untransformed.'),
      })
      .strict(),
    inputs: ['input'],
    outputs: {
      data: { file: 'data.csv', description: 'The transformed table.' },
      transform: {
        file: 'transform.json',
        description: 'The fitted transform, applied again at evaluation and serving.',
      },
    },
    metrics: [],
  },
  {
    name: 'features.apply',
    version: 1,
    category: 'features',
    summary: 'Apply a saved feature transform to another table (test data, new data).',
    options: z
      .object({
        input: path.describe('The table to transform.'),
        transform: path.describe('A features.transform `transform` output.'),
      })
      .strict(),
    inputs: ['input', 'transform'],
    outputs: { data: { file: 'data.csv', description: 'The transformed table.' } },
    metrics: [],
  },
  {
    name: 'features.user-item-stats',
    version: 1,
    category: 'features',
    summary: 'Per-user and per-item statistics (count, mean rating, recency) from an interactions table.',
    options: z
      .object({
        input: path.describe('Interactions (ratings, clicks, purchases).'),
        ...ratingColumns,
        time: column.optional().describe('Timestamp column, for recency.'),
      })
      .strict(),
    inputs: ['input'],
    outputs: {
      users: { file: 'users.csv', description: 'One row per user.' },
      items: { file: 'items.csv', description: 'One row per item.' },
    },
    metrics: ['users', 'items'],
  },
  {
    name: 'train.logistic-regression',
    version: 1,
    category: 'train',
    summary:
      'Logistic regression (binary or multinomial) trained with tfjs on the best local backend; exported to ONNX.',
    options: z.object(tabularTrain).strict(),
    inputs: ['train', 'transform'],
    outputs: {
      model: { file: 'model.json', description: 'The trained model (weights, input schema, transform).' },
      onnx: { file: 'model.onnx', description: 'The model as ONNX, for serving with onnxruntime.' },
    },
    metrics: ['loss', 'val_loss', 'accuracy', 'val_accuracy'],
  },
  {
    name: 'train.mlp',
    version: 1,
    category: 'train',
    summary: 'A multi-layer perceptron for classification or regression, trained with tfjs; exported to ONNX.',
    options: z
      .object({
        ...tabularTrain,
        task: z.enum(['classification', 'regression']).default('classification').describe('What the target is.'),
        hidden: z.array(z.number().int().min(1)).default([64, 32]).describe('Units per hidden layer.'),
        activation: z.enum(['relu', 'tanh', 'sigmoid']).default('relu').describe('Hidden-layer activation.'),
        dropout: z.number().min(0).lt(1).default(0).describe('Dropout rate after each hidden layer.'),
      })
      .strict(),
    inputs: ['train', 'transform'],
    outputs: {
      model: { file: 'model.json', description: 'The trained model (weights, input schema, transform).' },
      onnx: { file: 'model.onnx', description: 'The model as ONNX, for serving with onnxruntime.' },
    },
    metrics: ['loss', 'val_loss', 'accuracy', 'val_accuracy', 'mae', 'val_mae'],
  },
  {
    name: 'train.gradient-boosting',
    version: 1,
    category: 'train',
    summary:
      'Gradient-boosted trees (histogram-based, as XGBoost hist / LightGBM) for classification or regression; exported to ONNX as a tree ensemble.',
    options: z
      .object({
        train: tabularTrain.train,
        target: tabularTrain.target,
        features: tabularTrain.features,
        transform: tabularTrain.transform,
        task: z
          .enum(['classification', 'regression'])
          .default('classification')
          .describe('What the target is: binary or multiclass labels (log loss, softmax), or numbers (squared error).'),
        trees: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('Boosting rounds (a multiclass round grows one tree per class).'),
        lr: z
          .number()
          .gt(0)
          .lte(1)
          .default(0.1)
          .describe("Learning rate (shrinkage): each tree's leaves are scaled by it."),
        l2: z.number().min(0).default(1).describe("L2 regularisation of leaf values (XGBoost's lambda)."),
        growth: z
          .enum(['depthwise', 'leafwise'])
          .default('depthwise')
          .describe('Grow level by level (XGBoost) or the best leaf first (LightGBM, scikit-learn; needs max_leaves).'),
        max_depth: z.number().int().min(0).default(6).describe('Deepest level of a leaf (0: no limit).'),
        max_leaves: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('Most leaves per tree (0: no limit; leafwise growth needs one, e.g. 31).'),
        min_child_weight: z
          .number()
          .min(0)
          .default(1)
          .describe("Smallest hessian sum in a leaf (XGBoost's min_child_weight)."),
        min_samples_leaf: z.number().int().min(1).default(1).describe('Smallest number of training rows in a leaf.'),
        subsample: z
          .number()
          .gt(0)
          .lte(1)
          .default(1)
          .describe('Share of rows each tree sees, drawn without replacement from the seed.'),
        colsample: z
          .number()
          .gt(0)
          .lte(1)
          .default(1)
          .describe('Share of features each tree may split on, drawn from the seed.'),
        max_bins: z.number().int().min(2).max(255).default(255).describe('Quantile bins per feature.'),
        threads: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(1)
          .describe(
            'Threads building histograms (worker threads beside the step); results are the same for any number.',
          ),
        seed,
        valid_fraction: trainCommon.valid_fraction,
        early_stopping: earlyStopping
          .optional()
          .describe(
            "Stop when the validation loss has not improved for `patience` rounds; the best round's trees are kept.",
          ),
      })
      .strict(),
    inputs: ['train', 'transform'],
    outputs: {
      model: { file: 'model.json', description: 'The trained trees, input schema and transform.' },
      onnx: {
        file: 'model.onnx',
        description:
          'The model as an ONNX TreeEnsembleClassifier / TreeEnsembleRegressor, for serving with onnxruntime.',
      },
    },
    metrics: ['loss', 'val_loss', 'accuracy', 'val_accuracy', 'mae', 'val_mae', 'trees'],
  },
  {
    name: 'train.matrix-factorization',
    version: 1,
    category: 'train',
    summary:
      'Matrix factorization with user/item biases for ratings (explicit) or interactions (implicit), trained with tfjs.',
    options: z
      .object({
        ratings: path.describe('Interactions table.'),
        ...ratingColumns,
        factors: z.number().int().min(1).default(32).describe('Latent dimensions.'),
        implicit: z.boolean().default(false).describe('Treat ratings as implicit feedback (with sampled negatives).'),
        ...trainCommon,
      })
      .strict(),
    inputs: ['ratings'],
    outputs: {
      model: { file: 'model.json', description: 'Factors, biases and id maps.' },
      onnx: { file: 'model.onnx', description: 'The scorer as ONNX (user index, item index → score).' },
    },
    metrics: ['loss', 'val_loss', 'rmse', 'val_rmse'],
  },
  {
    name: 'train.popularity',
    version: 1,
    category: 'train',
    summary: 'A popularity baseline: recommends the items most interacted with (mean rating as the predicted score).',
    options: z.object({ ratings: path.describe('Interactions table.'), ...ratingColumns }).strict(),
    inputs: ['ratings'],
    outputs: { model: { file: 'model.json', description: 'Item popularity and mean ratings.' } },
    metrics: [],
  },
  {
    name: 'train.content-based',
    version: 1,
    category: 'train',
    summary:
      'A content-based recommender: TF-IDF (or one-hot) item profiles from genres and titles, user profiles from the rated items (mean-centred rating weights), scored by cosine; the rating is the user and item means plus a fitted multiple of the cosine.',
    options: z.object({ ratings: path.describe('Interactions table.'), ...ratingColumns, ...itemFeatures }).strict(),
    inputs: ['ratings', 'items'],
    outputs: {
      model: { file: 'model.json', description: 'Vocabulary, item and user profiles, biases and the rating scale.' },
    },
    metrics: ['vocabulary', 'rmse'],
  },
  {
    name: 'train.hybrid',
    version: 1,
    category: 'train',
    summary:
      "Matrix factorization blended with the content-based recommender and popularity, the blend weights chosen on each user's newest training ratings; new users get popular items, new items their content profile.",
    options: z
      .object({
        ratings: path.describe('Interactions table.'),
        ...ratingColumns,
        time: column
          .optional()
          .describe(
            "Timestamp column: each user's newest `blend_fraction` of ratings choose the blend weights (default: a seeded random share of each user's ratings).",
          ),
        ...itemFeatures,
        factors: z.number().int().min(1).default(32).describe('Latent dimensions of the matrix factorization.'),
        ...trainCommon,
        blend_fraction: fraction(
          "Share of each user's ratings held out to choose the blend weights (the components are then refitted on every rating).",
        ).default(0.1),
        popularity_half_life: z
          .number()
          .min(0)
          .default(0.25)
          .describe(
            "Popularity component: a rating's weight halves every this share of the training time span (needs `time`; 0: plain rating counts).",
          ),
        k: z.number().int().min(1).default(10).describe('List length whose NDCG the ranking blend maximizes.'),
        relevance: z
          .number()
          .default(4)
          .describe('Held-out ratings at or above this count as relevant when choosing the ranking blend.'),
      })
      .strict(),
    inputs: ['ratings', 'items'],
    outputs: {
      model: {
        file: 'model.json',
        description: 'The matrix factorization, the content model, item popularity and the blend weights.',
      },
    },
    metrics: [
      'loss',
      'val_loss',
      'rmse',
      'val_rmse',
      'blend_rmse',
      'blend_ndcg@k',
      'weight_mf',
      'weight_content',
      'weight_popularity',
    ],
  },
  {
    name: 'evaluate.classification',
    version: 1,
    category: 'evaluate',
    summary:
      'Classification metrics (accuracy, precision, recall, F1, ROC-AUC, PR-AUC, log loss, confusion matrix), per slice with fairness gaps. Works on Cairn models and any ONNX classifier.',
    options: z
      .object({
        model: path.describe('A Cairn model.json or an .onnx model.'),
        test: path.describe('Labelled test data.'),
        target: column.describe('The label column.'),
        positive: z
          .union([z.string(), z.number()])
          .optional()
          .describe('The positive class for binary metrics (default: the larger label).'),
        threshold: z.number().gt(0).lt(1).default(0.5).describe('Decision threshold for binary classifiers.'),
        slices: z.array(column).optional().describe('Columns to slice by (metrics and fairness gaps per group).'),
        average: z
          .enum(['micro', 'macro', 'weighted', 'binary'])
          .default('binary')
          .describe('Averaging for precision / recall / F1 in gates.'),
        ...explainOptions,
      })
      .strict(),
    inputs: ['model', 'test'],
    outputs: {
      report: {
        file: 'metrics.json',
        description: 'All metrics, the confusion matrix, per-slice metrics and fairness gaps.',
      },
      explanations: explanationsOutput,
    },
    metrics: [
      'accuracy',
      'precision',
      'recall',
      'f1',
      'roc_auc',
      'pr_auc',
      'log_loss',
      'demographic_parity_difference',
      'equal_opportunity_difference',
    ],
  },
  {
    name: 'evaluate.regression',
    version: 1,
    category: 'evaluate',
    summary: 'Regression metrics (RMSE, MAE, R²), per slice. Works on Cairn models and any ONNX regressor.',
    options: z
      .object({
        model: path.describe('A Cairn model.json or an .onnx model.'),
        test: path.describe('Test data.'),
        target: column.describe('The column to predict.'),
        slices: z.array(column).optional().describe('Columns to slice by.'),
        ...explainOptions,
      })
      .strict(),
    inputs: ['model', 'test'],
    outputs: {
      report: { file: 'metrics.json', description: 'All metrics, per slice.' },
      explanations: explanationsOutput,
    },
    metrics: ['rmse', 'mae', 'r2'],
  },
  {
    name: 'evaluate.ranking',
    version: 2,
    category: 'evaluate',
    summary:
      'Ranking metrics for recommenders (precision@k, recall@k, F1@k, NDCG@k, MAP@k, hit rate, coverage, RMSE on all, known and cold-start rows), the first model compared with the others.',
    options: z
      .object({
        models: z.array(path).min(1).describe('Models to compare; the first is the candidate, the rest baselines.'),
        test: path.describe('Held-out interactions.'),
        train: path.optional().describe('Training interactions, excluded from the recommendations.'),
        ...ratingColumns,
        k: z.number().int().min(1).default(10).describe('List length.'),
        relevance: z.number().default(4).describe('Held-out ratings at or above this count as relevant.'),
        metrics: z
          .array(z.enum(rankingMetricNames))
          .default(['rmse', 'precision@k', 'recall@k', 'ndcg@k'])
          .describe('Metrics to compute (rmse_known and rmse_cold need `train`; lift_ndcg@k needs a baseline).'),
      })
      .strict(),
    inputs: ['models', 'test', 'train'],
    outputs: { report: { file: 'metrics.json', description: 'Metrics per model.' } },
    metrics: [...rankingMetricNames, ...rankingRowCounts],
  },
  {
    name: 'drift.check',
    version: 1,
    category: 'drift',
    summary:
      'Per-feature drift between a reference and a current table (KS / chi-square / Wasserstein / Jensen–Shannon / PSI, chosen as Evidently does).',
    options: z
      .object({
        reference: path.describe('Reference data (usually the training set).'),
        current: path.describe('Current data.'),
        columns: z.array(column).optional().describe('Columns to check (default: all shared columns).'),
        share: z
          .number()
          .gt(0)
          .lte(1)
          .default(0.5)
          .describe('The dataset drifts when at least this share of columns drift.'),
        tests: z
          .record(z.string(), driftOverrideSchema)
          .optional()
          .describe('Per-column test and threshold overrides.'),
      })
      .strict(),
    inputs: ['reference', 'current'],
    outputs: { report: { file: 'drift.json', description: 'Per-feature statistics, bins and verdicts.' } },
    metrics: ['share_drifted', 'drifted_columns'],
  },
  {
    name: 'model.register',
    version: 1,
    category: 'model',
    summary: 'Register a trained model as a new version in the model registry, with its lineage and card.',
    options: z
      .object({
        model: path.describe('The model to register.'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
          .describe('Registered model name.'),
        card: path.optional().describe('The model card (Markdown) for this model.'),
        alias: z.string().optional().describe('Alias to point at the new version (e.g. challenger).'),
      })
      .strict(),
    inputs: ['model', 'card'],
    outputs: {},
    metrics: [],
  },
] as const satisfies readonly BuiltinSpec[];

/** The built-in catalogue: the one definition of each built-in's options, outputs and metrics. */
export const builtins: readonly BuiltinSpec[] = catalogue;

/** A built-in's name, as the catalogue spells it. */
export type BuiltinName = (typeof catalogue)[number]['name'];

/** The catalogue entry of one built-in, with its options' own zod type (not widened to any object). */
export type BuiltinSpecOf<N extends BuiltinName> = Extract<(typeof catalogue)[number], { name: N }>;

/** A built-in's options as its zod schema outputs them (defaults applied). */
export type BuiltinOptions<N extends BuiltinName> = z.output<BuiltinSpecOf<N>['options']>;

const byName = new Map(builtins.map((b) => [b.name, b]));

export function getBuiltin(name: string): BuiltinSpec | undefined {
  return byName.get(name);
}

/** The catalogue entry of a built-in named in code (its options typed); getBuiltin is for names read from a file. */
export function builtinOf<N extends BuiltinName>(name: N): BuiltinSpecOf<N> {
  const spec = byName.get(name);
  if (!spec) throw new Error(`${name} is missing from the catalogue`);
  return spec as BuiltinSpecOf<N>;
}
