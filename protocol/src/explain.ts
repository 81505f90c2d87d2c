import { z } from 'zod';

/**
 * Explanations of a tabular model (docs/ml.md, "Explanations"): written by evaluate.* with `explain: true` as
 * explanations.json, returned by `POST /invocations` with `explain: true`, and drawn by the explanation view.
 */
export const importanceScorings = ['roc_auc', 'accuracy', 'neg_root_mean_squared_error'] as const;

export const featureImportanceSchema = z.object({
  feature: z.string(),
  mean: z.number(),
  std: z.number(),
  ci: z.tuple([z.number(), z.number()]),
  importances: z.array(z.number()),
});

export const permutationImportanceSchema = z.object({
  scoring: z.enum(importanceScorings),
  baseline: z.number(),
  repeats: z.number().int().min(1),
  seed: z.number().int(),
  confidence: z.number().gt(0).lt(1),
  rows: z.number().int(),
  features: z.array(featureImportanceSchema),
});
export type PermutationImportanceJson = z.infer<typeof permutationImportanceSchema>;

/** How contributions were computed: exactly by TreeSHAP (trees) or w·(x − mean) (linear models). */
export const contributionMethods = ['tree-shap', 'linear'] as const;
export const contributionLinks = ['log-odds', 'logit', 'prediction'] as const;

/** One row's contributions: `values[output][feature]`; base[output] + Σ values[output] = margin[output]. */
export const rowContributionSchema = z.object({
  values: z.array(z.array(z.number())),
  margin: z.array(z.number()),
});
export type RowContribution = z.infer<typeof rowContributionSchema>;

export const contributionsHeaderSchema = z.object({
  method: z.enum(contributionMethods),
  link: z.enum(contributionLinks),
  features: z.array(z.string()),
  outputs: z.array(z.string()),
  base: z.array(z.number()),
});

export const explanationsSchema = z.object({
  format: z.literal('cairn.explanations'),
  version: z.literal(1),
  model: z.string(),
  test: z.string(),
  importance: permutationImportanceSchema,
  /** Null where the model has none (an MLP, an ONNX model without its model.json): `note` says why. */
  contributions: contributionsHeaderSchema
    .extend({
      /** A sample of test rows: their 0-based row number in the test data, inputs and contributions. */
      rows: z.array(
        rowContributionSchema.extend({
          row: z.number().int().min(0),
          inputs: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
        }),
      ),
    })
    .nullable(),
  note: z.string().optional(),
});
export type Explanations = z.infer<typeof explanationsSchema>;

/** The `explanations` member of a `POST /invocations` answer with `explain: true`: one entry per request row. */
export const servedContributionsSchema = contributionsHeaderSchema.extend({ rows: z.array(rowContributionSchema) });
export type ServedContributions = z.infer<typeof servedContributionsSchema>;

/** The output name under which evaluate.* records explanations.json (its catalogue entry, builtins.ts). */
export const explanationsOutputName = 'explanations';
/** The run tag (value `true`) the executor sets when a step of the run recorded explanations: the editor offers them. */
export const explainedRunTag = 'cairn.explained';
