/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does; STYLE.md. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { driftOverrideSchema, driftReportSchema } from '../drift.js';

/**
 * Client → runtime: the drift of one data file against another (the editor's "Show Drift"), computed by the runtime's
 * one implementation, the same report `cairn drift --format json` prints. Both files must be in the workspace. A bad
 * file or column is an invalid-params error naming it; a file that does not exist, not-found. Documented in
 * docs/protocol.md.
 */
export namespace DriftRequest {
  export const method = 'runtime/drift' as const;
  export const paramsSchema = z.object({
    /** The reference table (what the model was trained on): CSV, JSON lines or Parquet, absolute or workspace-relative. */
    reference: z.string().min(1),
    /** The current table (what it sees now). */
    current: z.string().min(1),
    /** Columns to check (default: every column both tables have). */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /** The dataset drifts when at least this share of the checked columns drift (default 0.5). */
    share: z.number().gt(0).lte(1).optional(),
    /** Per-column test and threshold overrides. */
    tests: z.record(z.string(), driftOverrideSchema).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = driftReportSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
