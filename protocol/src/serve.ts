import { z } from 'zod';
import { servedContributionsSchema } from './explain.js';

/**
 * `cairn serve` HTTP contract (docs/cli.md, "Serving"). Request bodies follow MLflow's scoring protocol so existing
 * clients work unchanged; cells are JSON scalars (null marks a missing value).
 */
export const serveCellSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);
export type ServeCell = z.infer<typeof serveCellSchema>;

const recordSchema = z.record(z.string(), serveCellSchema);
const rowSchema = z.array(serveCellSchema);

const dataframeSplitSchema = z
  .object({
    dataframe_split: z.object({
      columns: z.array(z.string()),
      data: z.array(rowSchema),
      index: z.array(z.unknown()).optional(),
    }),
  })
  .strict();
const dataframeRecordsSchema = z.object({ dataframe_records: z.array(recordSchema) }).strict();
/** A list of records, or of rows in the model's input-column order. */
const instancesSchema = z.object({ instances: z.union([z.array(recordSchema), z.array(rowSchema)]) }).strict();
/** As `instances`, or columnar: `{"inputs": {"col": [v, …]}}`. */
const inputsSchema = z
  .object({
    inputs: z.union([z.array(recordSchema), z.array(rowSchema), z.record(z.string(), z.array(serveCellSchema))]),
  })
  .strict();

/** Each body format by its one top-level key, so a server can check a body against its own format only. */
export const invocationFormatSchemas = {
  dataframe_split: dataframeSplitSchema,
  dataframe_records: dataframeRecordsSchema,
  instances: instancesSchema,
  inputs: inputsSchema,
} as const;

/**
 * The common case of `invocationFormatSchemas[key].safeParse(body).success`, decided without zod: true only for a
 * body the schema accepts (a parsed JSON body: plain data), so a server can use the body as it is and skip zod's
 * per-cell walk and copy on the hot path. false means "ask the schema" (which then accepts it or names the issue).
 * test/unit/protocol/serveFastCheck.test.ts holds the two to the same answers.
 */
export function conformsToInvocationFormat(
  key: keyof typeof invocationFormatSchemas,
  body: Record<string, unknown>,
): boolean {
  const v = body[key];
  switch (key) {
    case 'dataframe_split': {
      if (!isPlainObject(v)) return false;
      const { columns, data, index } = v;
      if (!Array.isArray(columns) || !Array.isArray(data) || (index !== undefined && !Array.isArray(index)))
        return false;
      for (const c of columns) if (typeof c !== 'string') return false;
      return isRowList(data);
    }
    case 'dataframe_records':
      return isRecordList(v);
    case 'instances':
      return isRecordList(v) || isRowList(v);
    case 'inputs':
      if (isRecordList(v) || isRowList(v)) return true;
      if (!isPlainObject(v)) return false;
      for (const k in v) {
        const col = v[k];
        if (!Array.isArray(col)) return false;
        for (const c of col) if (!isCell(c)) return false;
      }
      return true;
  }
}

function isCell(c: unknown): boolean {
  return typeof c === 'string' || c === null || typeof c === 'boolean' || (typeof c === 'number' && Number.isFinite(c));
}

/** A JSON object (JSON.parse makes no other kind), not an array. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function isRowList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const row of v) {
    if (!Array.isArray(row)) return false;
    for (const c of row) if (!isCell(c)) return false;
  }
  return true;
}

function isRecordList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const r of v) {
    if (!isPlainObject(r)) return false;
    for (const k in r) if (!isCell(r[k])) return false;
  }
  return true;
}

export const invocationRequestSchema = z.union([
  dataframeSplitSchema,
  dataframeRecordsSchema,
  instancesSchema,
  inputsSchema,
]);
export type InvocationRequest = z.infer<typeof invocationRequestSchema>;

/** A classifier's prediction: the most probable label and every class's probability (keyed by the label's text). */
export const classPredictionSchema = z.object({
  label: z.union([z.string(), z.number()]),
  probabilities: z.record(z.string(), z.number()),
});
export type ClassPrediction = z.infer<typeof classPredictionSchema>;

/**
 * Regressors and recommenders (a predicted rating per user–item row) answer one number per row, classifiers one
 * ClassPrediction per row, in request order. With a challenger (A/B) a request's rows may come from both arms: the
 * `X-Cairn-Arm` header says which (`champion`, `challenger` or `mixed`, with `X-Cairn-Arm-Rows` counting each).
 * A recommender asked `POST /invocations?k=N` with rows of the user column alone answers each row's N best item ids.
 */
/** A top-k answer's impression per row, in `impressions` beside `predictions` (a server logging to a deployment). */
export const servedImpressionSchema = z.object({
  id: z.string(),
  arm: z.enum(['champion', 'challenger']),
  version: z.number().int().nullable(),
});
export type ServedImpression = z.infer<typeof servedImpressionSchema>;

export const invocationResponseSchema = z.object({
  predictions: z.union([
    z.array(z.number()),
    z.array(classPredictionSchema),
    z.array(z.array(z.union([z.string(), z.number()]))),
  ]),
  /** With `"explain": true` in the body: each row's contributions (protocol/src/explain.ts). */
  explanations: servedContributionsSchema.optional(),
  /** Top-k answers of a server logging to a deployment: one impression per row, for `/feedback` events. */
  impressions: z.array(servedImpressionSchema).optional(),
});
export type InvocationResponse = z.infer<typeof invocationResponseSchema>;

export const serveErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ServeError = z.infer<typeof serveErrorSchema>;

export const serveInputFieldSchema = z.object({ name: z.string(), type: z.enum(['number', 'string', 'any']) });
export type ServeInputField = z.infer<typeof serveInputFieldSchema>;

export const serveModelInfoSchema = z.object({
  path: z.string(),
  /** `recommender`: rows carry a user and an item column (`inputs`), the answer is the predicted rating. */
  task: z.enum(['classification', 'regression', 'recommender']),
  classes: z.array(z.union([z.string(), z.number()])).optional(),
  inputs: z.array(serveInputFieldSchema),
  /** Set when served from the registry (`--model NAME@ALIAS`): the version `path` was restored from. */
  registered: z.object({ name: z.string(), version: z.number().int().min(1) }).optional(),
  loadedAt: z.string(),
});
export type ServeModelInfo = z.infer<typeof serveModelInfoSchema>;

/** The challenger arm of an A/B split: rows whose key hashes under `split` go to it. */
export const serveChallengerSchema = z.object({
  model: serveModelInfoSchema,
  split: z.number().min(0).max(1),
  /** The request column whose value picks the arm; null: the `X-Cairn-Key` header, else a random draw per request. */
  key: z.string().nullable(),
});
export type ServeChallenger = z.infer<typeof serveChallengerSchema>;

/** The prediction log of this server: off (`reason` says why), or on with its sampling and bound. */
export const serveLogInfoSchema = z.object({
  enabled: z.boolean(),
  sample: z.number().min(0).max(1),
  maxRows: z.number().int().min(0),
  reason: z.string().optional(),
  /** Rows written to the store, and rows dropped because the write buffer was full. */
  logged: z.number().int().min(0),
  dropped: z.number().int().min(0),
  /** Rows not yet written (queued, or with the writer). */
  pending: z.number().int().min(0).optional(),
  /** Where rows are written: a writer thread beside the serving loop, or the serving thread itself (when no thread could start). */
  writer: z.enum(['thread', 'serving-thread']).optional(),
});
export type ServeLogInfo = z.infer<typeof serveLogInfoSchema>;

export const serveHealthSchema = z.object({
  status: z.literal('ok'),
  /** The champion (the only model without a challenger). */
  model: serveModelInfoSchema,
  uptimeSeconds: z.number(),
  challenger: serveChallengerSchema.optional(),
  /** The `deployments` row of the workspace store this server writes (null: serving a file without a workspace). */
  deploymentId: z.number().int().nullable().optional(),
  log: serveLogInfoSchema.optional(),
});
export type ServeHealth = z.infer<typeof serveHealthSchema>;

/** A `cairn serve` setting that can come from a pipeline's `deploy:` block instead of a flag. */
export const serveSettingSchema = z.enum(['host', 'port', 'model', 'challenger', 'split', 'key']);
export type ServeSetting = z.infer<typeof serveSettingSchema>;

/** The line `cairn serve --format json` prints once it listens. */
export const serveStartedSchema = z.object({
  event: z.literal('listening'),
  url: z.string(),
  token: z.string().nullable(),
  model: serveModelInfoSchema,
  challenger: serveChallengerSchema.optional(),
  deploymentId: z.number().int().nullable().optional(),
  /** The pipeline whose `deploy:` block gave settings no flag set (`--pipeline`, or the workspace's `cairn.yaml`). */
  pipeline: z
    .object({
      /** Absolute path of the pipeline file. */
      file: z.string(),
      /** true: not named by `--pipeline` but found in the workspace. */
      found: z.boolean(),
      /** The settings taken from it; the others came from flags or built-in defaults. */
      settings: z.array(serveSettingSchema),
    })
    .optional(),
});
export type ServeStarted = z.infer<typeof serveStartedSchema>;

/** A label: what actually happened for a predicted row (a rating, a class); null: none for that row. */
export const feedbackLabelSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);

/**
 * `POST /feedback`: labels that arrive after the prediction, for the logged rows of a request (by the
 * `X-Cairn-Request-Id` it was answered with). Either one label per row of a request, or (request, row, label) items.
 */
export const feedbackRequestSchema = z.union([
  z
    .object({ request_id: z.string().min(1).max(200), labels: z.array(feedbackLabelSchema).min(1).max(10_000) })
    .strict(),
  z
    .object({
      feedback: z
        .array(
          z
            .object({
              request_id: z.string().min(1).max(200),
              row: z.number().int().min(0),
              label: feedbackLabelSchema,
            })
            .strict(),
        )
        .min(1)
        .max(10_000),
    })
    .strict(),
]);
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

/** `updated`: logged rows that got their label; `unknown`: rows not in the log (not sampled, dropped, or never sent). */
export const feedbackResponseSchema = z.object({ updated: z.number().int().min(0), unknown: z.number().int().min(0) });
export type FeedbackResponse = z.infer<typeof feedbackResponseSchema>;

/** What a client reports about a served top-k answer (docs/deploy.md, "A/B on clicks, conversions and revenue"). */
export const abEventKinds = ['impression', 'click', 'purchase'] as const;
export type AbEventKind = (typeof abEventKinds)[number];

const eventBase = {
  /** The client's id of this event: sending it again (a retry) stores nothing new. */
  event_id: z.string().min(1).max(200),
  /** The `impressions[].id` of the top-k answer the event is about. */
  impression_id: z.string().min(1).max(260),
  /** When it happened (ms since the epoch); late events are accepted. Default: when received. */
  at: z.number().int().nonnegative().optional(),
};

/** One event: `impression` (the answer was shown), `click` (on an item), `purchase` (with its revenue, ≥ 0). */
export const abEventSchema = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('impression') }).strict(),
  z.object({ ...eventBase, type: z.literal('click'), item: z.string().min(1).max(200).optional() }).strict(),
  z
    .object({
      ...eventBase,
      type: z.literal('purchase'),
      item: z.string().min(1).max(200).optional(),
      revenue: z.number().finite().nonnegative(),
    })
    .strict(),
]);
export type AbEvent = z.infer<typeof abEventSchema>;

/** `POST /feedback` with events: `{"events": [...]}` (labels use the other two shapes above). */
export const abEventsRequestSchema = z.object({ events: z.array(abEventSchema).min(1).max(10_000) }).strict();
export type AbEventsRequest = z.infer<typeof abEventsRequestSchema>;

/** `accepted`: events stored now; `duplicate`: event ids already stored (a retry), left as they were. */
export const abEventsResponseSchema = z.object({
  accepted: z.number().int().min(0),
  duplicate: z.number().int().min(0),
});
export type AbEventsResponse = z.infer<typeof abEventsResponseSchema>;

/** Response headers of `/invocations` (lower case, as node:http and fetch give them). */
export const ServeHeaders = {
  /** The client's `X-Request-Id` when given, else generated: the id `/feedback` takes. */
  requestId: 'x-cairn-request-id',
  clientRequestId: 'x-request-id',
  /** `champion`, `challenger` or `mixed`. */
  arm: 'x-cairn-arm',
  /** Rows per arm, e.g. `champion=3,challenger=1` (only on a server with a challenger). */
  armRows: 'x-cairn-arm-rows',
  /** The registered version that answered (`champion=3,challenger=4` when mixed); absent for a model file. */
  version: 'x-cairn-version',
  /** Request header: the A/B key when the server has no `--key` column. */
  key: 'x-cairn-key',
} as const;
