/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as vscode-languageserver-protocol does. */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import {
  lineageGraphSchema,
  metricHistorySchema,
  runComparisonSchema,
  runDetailSchema,
  runListQuerySchema,
  runListSchema,
  runStatusSchema,
  startRunResultSchema,
  stepStatusSchema,
  sweepSummarySchema,
} from './model.js';

/**
 * Every JSON-RPC message between the extension (client) and the runtime (`cairn runtime --stdio`, server). One namespace
 * per message: the method string (nowhere else), zod schemas for params and result (checked on arrival), and the typed
 * message object for vscode-jsonrpc. Documented in docs/protocol.md.
 */

/** Runtime → client, once, after the runtime has opened its store: the client sends nothing before it. */
export namespace RuntimeReadyNotification {
  export const method = 'runtime/ready' as const;
  export const paramsSchema = z.object({
    version: z.string(),
    pid: z.number().int(),
    /** Absolute workspace folder the runtime serves (its `.cairn/` holds the store). */
    workspace: z.string(),
    /** Number of steps run in parallel at most. */
    parallelism: z.number().int(),
    /** The user this workspace's runs record (git user.email, else the OS user): the Experiments view's "mine". */
    user: z.string().optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}

/** Client → runtime: run a pipeline (all steps, one, or one and everything downstream). Returns once the run has started. */
export namespace RunPipelineRequest {
  export const method = 'runtime/run' as const;
  export const paramsSchema = z.object({
    /** Pipeline file, absolute or relative to the workspace. */
    pipeline: z.string().min(1),
    /** Param overrides as typed on the command line (`lr` → `"0.01"`); converted by the param's declared type. */
    params: z.record(z.string(), z.string()).optional(),
    /** Run only this step (and, with `downstream`, every step that depends on it). */
    step: z.string().optional(),
    downstream: z.boolean().optional(),
    /** Ignore the cache: run every selected step. */
    force: z.boolean().optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = startRunResultSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: cancel a run; running step processes (whole process trees) are killed. */
export namespace CancelRunRequest {
  export const method = 'runtime/cancel' as const;
  export const paramsSchema = z.object({ runId: z.number().int() });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({ cancelled: z.boolean() });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: a page of runs, filtered and sorted (the runs tree view and the compare table). */
export namespace ListRunsRequest {
  export const method = 'runtime/listRuns' as const;
  export const paramsSchema = runListQuerySchema;
  export type Params = z.input<typeof paramsSchema>;
  export const resultSchema = runListSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: the sweeps, newest first (`cairn sweep`; the compare view opens on one). */
export namespace ListSweepsRequest {
  export const method = 'runtime/listSweeps' as const;
  export const paramsSchema = z.object({ limit: z.number().int().min(1).max(1000).default(100) });
  export type Params = z.input<typeof paramsSchema>;
  export const resultSchema = z.object({ sweeps: z.array(sweepSummarySchema) });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: one run with its params, steps, outputs and latest metrics. */
export namespace GetRunRequest {
  export const method = 'runtime/getRun' as const;
  export const paramsSchema = z.object({ runId: z.number().int() });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = runDetailSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: compare runs (the compare webview): differing params only, metrics side by side. */
export namespace CompareRunsRequest {
  export const method = 'runtime/compareRuns' as const;
  export const paramsSchema = z.object({ runIds: z.array(z.number().int()).min(1).max(100) });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = runComparisonSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: the lineage graph of a run, an artifact (hash or path) or a model (`name[@version]`). */
export namespace LineageRequest {
  export const method = 'runtime/lineage' as const;
  export const paramsSchema = z.object({ target: z.string().min(1) });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = lineageGraphSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: a metric's history for a chart, downsampled on the runtime side to at most `maxPoints`. */
export namespace MetricHistoryRequest {
  export const method = 'runtime/metricHistory' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    key: z.string().min(1),
    maxPoints: z.number().int().min(3).max(100_000).default(2000),
  });
  export type Params = z.input<typeof paramsSchema>;
  export const resultSchema = metricHistorySchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Runtime → client: a run or one of its steps changed status (`step` absent: the run itself). */
export namespace RunProgressNotification {
  export const method = 'runtime/progress' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    pipeline: z.string(),
    step: z.string().optional(),
    status: z.union([runStatusSchema, stepStatusSchema]),
    cacheHit: z.boolean().optional(),
    durationMs: z.number().optional(),
    /** Why a step or run failed, or what happened (e.g. "restored from cache"). */
    message: z.string().optional(),
    /** A step on the Slurm executor: its job and the Slurm state just seen (PENDING, RUNNING, COMPLETED…). */
    slurm: z.object({ job: z.string(), state: z.string() }).optional(),
    /** A run another process started (a teammate, the CLI, CI) seen in the shared store, not one this runtime runs. */
    elsewhere: z.literal(true).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}

/** Runtime → client: a line of a step's output, live (secret params already redacted). */
export namespace RunLogNotification {
  export const method = 'runtime/log' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    step: z.string(),
    stream: z.enum(['stdout', 'stderr', 'cairn']),
    line: z.string(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}

/** Runtime → client: a metric a step reported, live (for charts that grow while training). */
export namespace RunMetricNotification {
  export const method = 'runtime/metric' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    /** The pipeline step that reported it. */
    stepName: z.string(),
    key: z.string(),
    value: z.number(),
    /** The x-axis value (epoch, iteration). */
    step: z.number(),
    time: z.number(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const type = new NotificationType<Params>(method);
}

/**
 * Client → runtime: delete a finished run with its params, metrics and step records (the Experiments view's "Delete
 * Run"). Artifacts stay in the object store until `cairn gc`. A running run is refused (cancel it first).
 */
export namespace DeleteRunRequest {
  export const method = 'runtime/deleteRun' as const;
  export const paramsSchema = z.object({ runId: z.number().int() });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({ deleted: z.boolean() });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Any event of a run, as the executor emits it and `cairn run --format json` prints it (one JSON object a line). */
export type RunEvent =
  | ({ type: 'progress' } & RunProgressNotification.Params)
  | ({ type: 'log' } & RunLogNotification.Params)
  | ({ type: 'metric' } & RunMetricNotification.Params);
