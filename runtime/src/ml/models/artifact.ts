import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { fittedTransformSchema } from '../data/transform.js';
import { featureEncodingSchema } from './encoding.js';

/**
 * model.json: the artifact every Cairn training step writes. Weights are plain JSON numbers holding float32 values
 * (a float32 survives a JSON round trip exactly), so the file is diffable and needs no second binary file.
 */
const id = z.union([z.string(), z.number()]);
const common = {
  format: z.literal('cairn-model'),
  formatVersion: z.literal(1),
  /** The tfjs backend the model was trained on (`tfjs-wasm`, …): same seed + backend → same weights. */
  backend: z.string(),
  seed: z.number().int(),
  /** Final training metrics (last kept epoch). */
  metrics: z.record(z.string(), z.number()),
};

export const denseLayerSchema = z.object({
  inputs: z.number().int().min(1),
  units: z.number().int().min(1),
  /** Row-major [inputs × units]. */
  weights: z.array(z.number()),
  bias: z.array(z.number()),
  activation: z.enum(['relu', 'tanh', 'sigmoid', 'linear']),
});
export type DenseLayer = z.infer<typeof denseLayerSchema>;

/** One boosted tree as parallel node arrays (runtime/src/ml/train/gbdt.ts); a leaf has feature −1. */
export const treeSchema = z.object({
  feature: z.array(z.number().int()),
  /** float32 values: a row goes left when its encoded feature ≤ threshold. */
  threshold: z.array(z.number()),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  value: z.array(z.number()),
  /** Training rows that reached each node (TreeSHAP weighs unknown features by it); absent in models before it. */
  cover: z.array(z.number().nonnegative()).optional(),
});

export const treeEnsembleSchema = z.object({
  objective: z.enum(['squared_error', 'logloss', 'softmax']),
  baseScore: z.array(z.number()),
  outputs: z.number().int().min(1),
  /** Round by round: tree r·outputs + k adds to output k. */
  trees: z.array(treeSchema),
});
export type GbdtTree = z.infer<typeof treeSchema>;
export type GbdtEnsemble = z.infer<typeof treeEnsembleSchema>;
export type GbdtObjective = GbdtEnsemble['objective'];

export const tabularModelSchema = z.object({
  ...common,
  kind: z.literal('tabular'),
  algorithm: z.enum(['logistic-regression', 'mlp', 'gradient-boosting']),
  task: z.enum(['classification', 'regression']),
  target: z.string(),
  /** Class labels in score order (classification); a binary model's one output is the probability of classes[1]. */
  classes: z.array(id).optional(),
  /** Regression: the network predicts (y - mean) / std. */
  targetScale: z.object({ mean: z.number(), std: z.number().positive() }).optional(),
  /** Raw columns the model reads (before `transform`, if any). */
  inputColumns: z.array(z.string()),
  /** A features.transform output given as the `transform` option: applied first, then `encoding`. */
  transform: fittedTransformSchema.optional(),
  encoding: featureEncodingSchema,
  /** The network (logistic regression, MLP); empty for gradient boosting. */
  layers: z.array(denseLayerSchema),
  /** The trees (gradient boosting). */
  ensemble: treeEnsembleSchema.optional(),
  /** Mean of each encoded input over the training rows: the reference point of linear contributions. */
  background: z.array(z.number()).optional(),
});
export type TabularModel = z.infer<typeof tabularModelSchema>;

export const ratingColumnsSchema = z.object({ user: z.string(), item: z.string(), rating: z.string() });

export const mfModelSchema = z.object({
  ...common,
  kind: z.literal('matrix-factorization'),
  implicit: z.boolean(),
  columns: ratingColumnsSchema,
  factors: z.number().int().min(1),
  /** Index → id; the ONNX export takes these indices. */
  users: z.array(id),
  items: z.array(id),
  /** Row-major [users × factors] and [items × factors]. */
  userFactors: z.array(z.number()),
  itemFactors: z.array(z.number()),
  userBias: z.array(z.number()),
  itemBias: z.array(z.number()),
  globalMean: z.number(),
  /** Predictions are clipped to the training rating range (explicit ratings). */
  clip: z.object({ min: z.number(), max: z.number() }).optional(),
});
export type MfModel = z.infer<typeof mfModelSchema>;

export const popularityModelSchema = z.object({
  format: z.literal('cairn-model'),
  formatVersion: z.literal(1),
  kind: z.literal('popularity'),
  columns: ratingColumnsSchema,
  /** Items, most interactions first. */
  items: z.array(id),
  counts: z.array(z.number().int()),
  /** Mean rating per item (the predicted score), shrunk toward the global mean. */
  means: z.array(z.number()),
  globalMean: z.number(),
});
export type PopularityModel = z.infer<typeof popularityModelSchema>;

/** A sparse vector: term indices ascending, with their weights. */
const sparseSchema = z.object({ terms: z.array(z.number().int().min(0)), weights: z.array(z.number()) });
export type SparseVector = z.infer<typeof sparseSchema>;

export const contentModelSchema = z.object({
  format: z.literal('cairn-model'),
  formatVersion: z.literal(1),
  kind: z.literal('content-based'),
  columns: ratingColumnsSchema,
  features: z.object({
    genres: z.string(),
    title: z.string().optional(),
    separator: z.string(),
    weighting: z.enum(['tfidf', 'binary']),
  }),
  /** Terms: `genre:<name>` and `title:<word>`; idf per term (1 under binary weighting). */
  vocabulary: z.array(z.string()),
  idf: z.array(z.number()),
  /** The catalogue: every item with features, rated or not; profiles are unit length. */
  items: z.array(id),
  itemProfiles: z.array(sparseSchema),
  /** Training ratings per item (0: a cold-start item) and the item bias (shrunk mean offset). */
  itemCounts: z.array(z.number().int().min(0)),
  itemBias: z.array(z.number()),
  users: z.array(id),
  /** Unit-length user profiles: Σ (r_ui − mean_u) · item profile over the user's rated items. */
  userProfiles: z.array(sparseSchema),
  userBias: z.array(z.number()),
  globalMean: z.number(),
  /** r̂ = μ + b_u + b_i + scale · cosine, clipped to the training rating range. */
  scale: z.number(),
  clip: z.object({ min: z.number(), max: z.number() }),
});
export type ContentModel = z.infer<typeof contentModelSchema>;

export const hybridModelSchema = z.object({
  format: z.literal('cairn-model'),
  formatVersion: z.literal(1),
  kind: z.literal('hybrid'),
  columns: ratingColumnsSchema,
  mf: mfModelSchema,
  content: contentModelSchema,
  /** Rating of a known user–item pair: intercept + mf · MF rating + content · content rating (least squares). */
  ratingBlend: z.object({ intercept: z.number(), mf: z.number(), content: z.number() }),
  /** Per content catalogue item: its training ratings, each weighted 0.5^(age / half-life) (plain counts without time). */
  popularity: z.array(z.number()),
  /** Ranking score: weights of the per-user standardized MF score, content cosine and log(1 + popularity). */
  rankBlend: z.object({ mf: z.number(), content: z.number(), popularity: z.number() }),
  seed: z.number().int(),
  backend: z.string(),
  metrics: z.record(z.string(), z.number()),
});
export type HybridModel = z.infer<typeof hybridModelSchema>;

export const cairnModelSchema = z.discriminatedUnion('kind', [
  tabularModelSchema,
  mfModelSchema,
  popularityModelSchema,
  contentModelSchema,
  hybridModelSchema,
]);
export type CairnModel = z.infer<typeof cairnModelSchema>;

export async function readModelFile(path: string): Promise<CairnModel> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a readable JSON model file (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = cairnModelSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${path}: not a Cairn model.json (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}); train one with a train.* step`,
    );
  }
  return parsed.data;
}
