/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';

/**
 * The model registry: registered models, their versions (one per model.register of a run), aliases (staging,
 * production, champion, challenger…) and the history of every alias move, so a move can be rolled back. Payloads of
 * the runtime/* registry messages below and of `cairn models … --format json`. Documented in docs/protocol.md.
 */

/** A registered model's name (as model.register's `name` option). */
export const modelNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'a model name is letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** An alias: starts with a letter, so `name@3` (a version) and `name@production` (an alias) never clash. */
export const modelAliasSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9._-]*$/,
    'an alias is letters, digits, ".", "_" or "-", starting with a letter (e.g. production, challenger)',
  );

export const modelVersionSchema = z.object({
  name: z.string(),
  /** 1, 2, … per model, in registration order. */
  version: z.number().int().min(1),
  /** The run that registered it (null once that run was deleted). */
  runId: z.number().int().nullable(),
  stepRunId: z.number().int().nullable(),
  /** The pipeline step that registered it. */
  step: z.string().nullable(),
  /** sha256 of the model file (a folder: of its manifest), as in `artifact:<hash>` lineage ids; kept in `.cairn/objects/`. */
  artifactHash: z.string(),
  artifactKind: z.enum(['file', 'dir']),
  /** Workspace-relative path the model was registered from. */
  path: z.string(),
  cardPath: z.string().nullable(),
  cardHash: z.string().nullable(),
  /** The run's latest metric values when the version was registered. */
  metrics: z.record(z.string(), z.number()),
  createdAt: z.number(),
  /** Aliases that point at this version now. */
  aliases: z.array(z.string()),
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;

/** One move of an alias: `fromVersion` null when the alias was created by it. */
export const aliasChangeSchema = z.object({
  id: z.number().int(),
  alias: z.string(),
  fromVersion: z.number().int().nullable(),
  toVersion: z.number().int(),
  /** `set` (by hand or by model.register's alias) or `rollback` (undoing the move `undoes`). */
  action: z.enum(['set', 'rollback']),
  undoes: z.number().int().nullable(),
  /** Who moved it: a user name, or `run 12 (step register)`. */
  actor: z.string(),
  reason: z.string().nullable(),
  at: z.number(),
});
export type AliasChange = z.infer<typeof aliasChangeSchema>;

export const modelSummarySchema = z.object({
  name: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  latestVersion: z.number().int(),
  versionCount: z.number().int(),
  /** Alias → version. */
  aliases: z.record(z.string(), z.number().int()),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

export const modelListSchema = z.object({ models: z.array(modelSummarySchema) });
export type ModelList = z.infer<typeof modelListSchema>;

export const modelDetailSchema = modelSummarySchema.extend({
  /** Newest first. */
  versions: z.array(modelVersionSchema),
  /** Every alias move, newest first. */
  history: z.array(aliasChangeSchema),
});
export type ModelDetail = z.infer<typeof modelDetailSchema>;

/** What an alias move did. `changed` is false when the alias already pointed there (nothing recorded). */
export const aliasMoveSchema = z.object({
  name: z.string(),
  alias: z.string(),
  version: z.number().int(),
  previous: z.number().int().nullable(),
  changed: z.boolean(),
});
export type AliasMove = z.infer<typeof aliasMoveSchema>;

/** Client → runtime: every registered model with its latest version and aliases (the Models view). */
export namespace ListModelsRequest {
  export const method = 'runtime/listModels' as const;
  export const paramsSchema = z.object({}).strict();
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = modelListSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: one model with its versions (run, artifact, card, metrics snapshot), aliases and alias history. */
export namespace GetModelRequest {
  export const method = 'runtime/getModel' as const;
  export const paramsSchema = z.object({ name: z.string().min(1) });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = modelDetailSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * Client → runtime: point an alias at a version (given as a number or as another alias of the model, e.g. promote
 * `challenger` to `production`). Recorded in the alias history with who and why. The raw move, without gates: PromoteModelRequest (deploy.ts) is the gated one.
 */
export namespace SetAliasRequest {
  export const method = 'runtime/setAlias' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1),
    alias: modelAliasSchema,
    version: z.union([z.number().int().min(1), modelAliasSchema]),
    reason: z.string().optional(),
    /** Who asks (shown in the history); defaults to the runtime's user. */
    actor: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = aliasMoveSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Client → runtime: undo an alias's latest move not yet undone (back to the version it pointed at before). */
export namespace RollbackAliasRequest {
  export const method = 'runtime/rollbackAlias' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1),
    alias: modelAliasSchema,
    reason: z.string().optional(),
    actor: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = aliasMoveSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
