/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message, as messages.ts. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { runColumnKeySchema, runTableSchema } from '../webviews/compare.js';
import { runCursorSchema, runSortSchema, runStatusSchema } from './model.js';

/**
 * Keyset paging of the run list (issue 15): the runtime sorts, filters and cuts pages, so a client never holds more
 * than the rows it shows. A page ends with a cursor (the last row's sort key and id); the next page starts strictly
 * after it, so rows inserted meanwhile never duplicate or shift the rows already shown (OFFSET paging would).
 */

export const runPageFilterSchema = z.strictObject({
  status: z.array(runStatusSchema).optional(),
  /** RunSummary.user exactly. */
  user: z.string().optional(),
  /** Pipeline name or file, exactly. */
  pipeline: z.string().optional(),
  /** Case-insensitive substring of the pipeline name, user, host, status or a tag (`%`, `_` match themselves). */
  text: z.string().min(1).max(200).optional(),
});
export type RunPageFilter = z.infer<typeof runPageFilterSchema>;

export const runPageQuerySchema = z.strictObject({
  filter: runPageFilterSchema.optional(),
  sort: runSortSchema.optional(),
  /** The columns to return, in order; absent: every param, metric and tag the page's runs have. */
  columns: z.array(runColumnKeySchema).max(1000).optional(),
  limit: z.number().int().min(1).max(10_000).default(200),
  /** Absent: the first page. */
  after: runCursorSchema.optional(),
  /**
   * Rows passed over (after `after`, else from the first row) before the page: a view that jumps (a dragged
   * scrollbar) seeks by keyset from the nearest cursor it has, reading only ids and sort keys, never OFFSET pages.
   */
  skip: z.number().int().min(1).max(10_000_000).optional(),
  /** Also count every run the filter matches (one more query; a view asks on its first page only). */
  withTotal: z.boolean().optional(),
});
export type RunPageQuery = z.input<typeof runPageQuerySchema>;

export const runPageSchema = z.strictObject({
  table: runTableSchema,
  /** The cursor for the next page; null: this was the last one. */
  next: runCursorSchema.nullable(),
  total: z.number().int().optional(),
});
export type RunPage = z.infer<typeof runPageSchema>;

/** Client → runtime: one page of runs as a compare table (the compare view's rows, the Experiments tree's "load more"). */
export namespace RunPageRequest {
  export const method = 'runtime/runsPage' as const;
  export const paramsSchema = runPageQuerySchema;
  export type Params = z.input<typeof paramsSchema>;
  export const resultSchema = runPageSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
