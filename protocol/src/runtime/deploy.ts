/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does. */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { titledDriftReportSchema } from '../drift.js';
import { aliasMoveSchema, modelAliasSchema } from './registry.js';

/**
 * Deployment and monitoring (issue 6): promotion gates, deployments (`cairn serve` processes), the prediction log and
 * its feedback, monitoring reports and alerts, A/B results. Payloads of the runtime/* messages below and of
 * `cairn models promote|gates`, `cairn deployments`, `cairn monitor`, `cairn ab` with `--format json`. Stored by store
 * migration 5 (runtime/src/store/migrations.ts). Documented in docs/protocol.md and docs/deploy.md.
 */

// ---------------------------------------------------------------- promotion gates

/** The gates a promotion checks, in this order. */
export const gateIds = ['card', 'card-metrics', 'evaluation', 'drift'] as const;
export const gateIdSchema = z.enum(gateIds);
export type GateId = z.infer<typeof gateIdSchema>;

export const gateResultSchema = z.object({
  gate: gateIdSchema,
  /** `overridden`: it failed and a reason was recorded for promoting anyway. */
  state: z.enum(['pass', 'fail', 'overridden']),
  /** One line: what was checked, what failed, what to do (e.g. `MODEL_CARD.md:12: missing section "Limitations"`). */
  detail: z.string(),
  /** Where to look: a workspace-relative file and a 0-based line, when the gate is about a file. */
  file: z.string().optional(),
  line: z.number().int().min(0).optional(),
  /** Set when state is `overridden`. */
  override: z.object({ reason: z.string(), actor: z.string(), at: z.number() }).optional(),
});
export type GateResult = z.infer<typeof gateResultSchema>;

export const gateReportSchema = z.object({
  name: z.string(),
  version: z.number().int().min(1),
  /** True when every gate passes or is overridden. */
  passed: z.boolean(),
  gates: z.array(gateResultSchema),
});
export type GateReport = z.infer<typeof gateReportSchema>;

/** What a promotion did: the gates as checked, and the alias move (absent when the gates refused it). */
export const promotionSchema = z.object({
  gates: gateReportSchema,
  move: aliasMoveSchema.optional(),
});
export type Promotion = z.infer<typeof promotionSchema>;

// ---------------------------------------------------------------- deployments and the prediction log

export const deploymentArmSchema = z.enum(['champion', 'challenger']);
export type DeploymentArm = z.infer<typeof deploymentArmSchema>;

export const deploymentSchema = z.object({
  id: z.number().int(),
  /** Registered model name (or the file's base name when served from a file). */
  name: z.string(),
  /** What was asked for: `NAME@champion`, `NAME@3` or a file path. Serving an alias follows its moves. */
  ref: z.string(),
  /** The version served now (null when served from a file). */
  version: z.number().int().nullable(),
  challenger: z
    .object({
      ref: z.string(),
      version: z.number().int().nullable(),
      /** Share of keys sent to the challenger (0..1). */
      split: z.number().min(0).max(1),
      /** Request column whose value picks the arm (sticky); null: the `X-Cairn-Key` header, else per request. */
      key: z.string().nullable(),
    })
    .nullable(),
  url: z.string(),
  pid: z.number().int(),
  /** Fraction of requests logged (0..1). */
  logSample: z.number().min(0).max(1),
  status: z.enum(['serving', 'stopped', 'interrupted']),
  startedAt: z.number(),
  stoppedAt: z.number().nullable(),
  /** Logged predictions, and how many of them have feedback. */
  logged: z.number().int(),
  labelled: z.number().int(),
});
export type Deployment = z.infer<typeof deploymentSchema>;

/** One arm's online metrics from the feedback received (regression/recommender: rmse, mae; classification: accuracy). */
export const armMetricsSchema = z.object({
  arm: deploymentArmSchema,
  version: z.number().int().nullable(),
  requests: z.number().int(),
  labelled: z.number().int(),
  metrics: z.record(z.string(), z.number()),
});
export type ArmMetrics = z.infer<typeof armMetricsSchema>;

// ---------------------------------------------------------------- monitoring

export const alertSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int().nullable(),
  deploymentId: z.number().int().nullable(),
  kind: z.enum(['drift', 'online-metric']),
  message: z.string(),
  /** The monitoring report that raised it. */
  reportId: z.number().int().nullable(),
  openedAt: z.number(),
  closedAt: z.number().nullable(),
  closedReason: z.string().nullable(),
  /** The retrain run it started, if any. */
  retrainRunId: z.number().int().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;

/** A stored monitoring report: logged traffic vs the training reference, per window. The drift view shows `report`. */
export const monitorReportSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int().nullable(),
  deploymentId: z.number().int().nullable(),
  /** Where the reference came from, e.g. `split.train of run 12 (data/train.csv)`. */
  reference: z.string(),
  createdAt: z.number(),
  drifted: z.boolean(),
  report: titledDriftReportSchema,
  /** The alert it opened, if any. */
  alertId: z.number().int().nullable(),
});
export type MonitorReport = z.infer<typeof monitorReportSchema>;

/** `cairn monitor NAME --format json`: the stored report, whether its latest window drifted, and the alert it concerns. */
export const monitorRunSchema = z.object({
  report: monitorReportSchema,
  /** The latest window drifted (share of drifted columns ≥ the share threshold): the exit code is 1. */
  drifted: z.boolean(),
  /** The open drift alert of the version: opened by this report (`alertOpened`), or open already. */
  alert: alertSchema.nullable(),
  alertOpened: z.boolean(),
  /** The retrain run started for a newly opened alert (`--retrain`), and how it ended (the CLI waits for it). */
  retrain: z.object({ runId: z.number().int(), status: z.string() }).nullable(),
});
export type MonitorRun = z.infer<typeof monitorRunSchema>;

// ---------------------------------------------------------------- A/B

export const abTestSchema = z.object({
  /** `two-proportion z-test` (a yes/no outcome per row, e.g. correct) or `bootstrap` (a per-row loss, e.g. squared error). */
  method: z.enum(['two-proportion-z', 'bootstrap']),
  metric: z.string(),
  /** Whether a lower value of `metric` is better (rmse) or a higher one (accuracy). */
  lowerIsBetter: z.boolean(),
  champion: z.number(),
  challenger: z.number(),
  /** challenger − champion, with its 95% confidence interval. */
  difference: z.number(),
  ci: z.tuple([z.number(), z.number()]),
  pValue: z.number().min(0).max(1),
  alpha: z.number(),
  /** `challenger` or `champion` when the difference is significant at `alpha`, else `inconclusive`. */
  winner: z.enum(['champion', 'challenger', 'inconclusive']),
  /** One sentence stating the test, the numbers and the decision. */
  statement: z.string(),
});
export type AbTest = z.infer<typeof abTestSchema>;

export const abResultSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  championVersion: z.number().int(),
  challengerVersion: z.number().int(),
  /** `online`: from a deployment's feedback per arm; `replay`: both models on the same holdout rows. */
  source: z.enum(['online', 'replay']),
  deploymentId: z.number().int().nullable(),
  /** For `replay`, the holdout file (workspace-relative). */
  holdout: z.string().nullable(),
  arms: z.array(armMetricsSchema),
  test: abTestSchema,
  createdAt: z.number(),
});
export type AbResult = z.infer<typeof abResultSchema>;

/** The Models view's whole picture of one model: versions are in GetModelRequest; this adds what is live. */
export const modelStatusSchema = z.object({
  name: z.string(),
  deployments: z.array(deploymentSchema),
  /** Open alerts, newest first. */
  alerts: z.array(alertSchema),
  latestAb: abResultSchema.nullable(),
});
export type ModelStatus = z.infer<typeof modelStatusSchema>;

// ---------------------------------------------------------------- messages

/** Client → runtime: check the promotion gates of a version (nothing moves). */
export namespace CheckGatesRequest {
  export const method = 'runtime/checkGates' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1),
    version: z.union([z.number().int().min(1), modelAliasSchema]),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = gateReportSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * Client → runtime: point `alias` at a version if its gates pass. A failing gate can be overridden only with a reason,
 * recorded with the move. A deployment serving `NAME@alias` swaps to the new version (no failed request).
 */
export namespace PromoteModelRequest {
  export const method = 'runtime/promoteModel' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1),
    version: z.union([z.number().int().min(1), modelAliasSchema]),
    alias: modelAliasSchema,
    /** Gates to promote past although they fail; needs `reason`. */
    override: z.array(gateIdSchema).optional(),
    reason: z.string().min(1).optional(),
    actor: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = promotionSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: deployments, open alerts and the latest A/B result of a model (the Models view). */
export namespace ModelStatusRequest {
  export const method = 'runtime/modelStatus' as const;
  export const paramsSchema = z.object({ name: z.string().min(1) });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = modelStatusSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * Client → runtime: start `cairn serve` for a registered model as a child of the runtime (stopped with it, or by
 * StopDeploymentRequest). Returns once it listens.
 */
export namespace DeployRequest {
  export const method = 'runtime/deploy' as const;
  export const paramsSchema = z.object({
    /** `NAME@alias`, `NAME@3` or `NAME` (its latest version). */
    model: z.string().min(1),
    challenger: z.string().min(1).optional(),
    split: z.number().min(0).max(1).optional(),
    key: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    /**
     * A pipeline file (absolute, or relative to the workspace) whose `deploy:` block gives the host, port, split and key
     * (`cairn serve --pipeline`); the fields above win over it. A port neither here nor in `deploy.serve`: a free one.
     */
    pipeline: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({ deployment: deploymentSchema, token: z.string().nullable() });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

export namespace StopDeploymentRequest {
  export const method = 'runtime/stopDeployment' as const;
  export const paramsSchema = z.object({ id: z.number().int() });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = deploymentSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: the stored monitoring reports of a model (newest first), or one by id. */
export namespace MonitorReportsRequest {
  export const method = 'runtime/monitorReports' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1).optional(),
    id: z.number().int().optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({ reports: z.array(monitorReportSchema) });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: the stored A/B results of a model (newest first), or one by id. */
export namespace AbResultsRequest {
  export const method = 'runtime/abResults' as const;
  export const paramsSchema = z.object({ name: z.string().min(1).optional(), id: z.number().int().optional() });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({ results: z.array(abResultSchema) });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Runtime → client: an alert opened or closed (the status bar, the Models view and a notification follow it). */
export namespace AlertNotification {
  export const method = 'runtime/alert' as const;
  export const paramsSchema = alertSchema;
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}

/** Runtime → client: the registry, a deployment, a report or an A/B result changed: refresh the Models view. */
export namespace ModelsChangedNotification {
  export const method = 'runtime/modelsChanged' as const;
  export const paramsSchema = z.object({ name: z.string().optional() });
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}
