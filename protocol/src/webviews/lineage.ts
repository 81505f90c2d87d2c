import { z } from 'zod';
import { lineageGraphSchema } from '../runtime/model.js';
import {
  hostErrorMessageSchema,
  readyMessageSchema,
  viewErrorMessageSchema,
  webviewIdSchema,
  webviewMessage,
} from './common.js';

/**
 * Lineage view contract: the graph `runtime/lineage` returns (nodes with stale marks, edges), relayed as is. The
 * view checks what the runtime schema does not: ids are unique and every edge joins two nodes.
 */

export const lineageViewGraphSchema = lineageGraphSchema.superRefine((g, ctx) => {
  // Refinements also run when parts were already rejected: only look at what has the expected shape.
  if (!Array.isArray(g.nodes) || !Array.isArray(g.edges)) return;
  const ids = new Set<string>();
  g.nodes.forEach((n, i) => {
    if (ids.has(n.id))
      ctx.addIssue({ code: 'custom', message: `node id '${n.id}' appears twice`, path: ['nodes', i, 'id'] });
    ids.add(n.id);
  });
  g.edges.forEach((e, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!ids.has(e[end]))
        ctx.addIssue({ code: 'custom', message: `edge ${end} '${e[end]}' is not a node`, path: ['edges', i, end] });
    }
  });
});

/** What the graph is about (`cairn lineage <run|artifact|model>`), kept in the view state for reloads. */
export const lineageQuerySchema = z.strictObject({ target: webviewIdSchema });
export type LineageQuery = z.infer<typeof lineageQuerySchema>;

// ---- extension → view
export const lineageGraphMessageSchema = webviewMessage(
  'graph',
  z.strictObject({ query: lineageQuerySchema, graph: lineageViewGraphSchema, focus: webviewIdSchema.optional() }),
);
export const lineageToViewSchema = z.discriminatedUnion('type', [lineageGraphMessageSchema, hostErrorMessageSchema]);
export type LineageToView = z.infer<typeof lineageToViewSchema>;

// ---- view → extension
/** Open what the node stands for (file, run details); the extension honours only ids of the graph it sent. */
export const lineageOpenMessageSchema = webviewMessage('open', z.strictObject({ nodeId: webviewIdSchema }));
/** Run the pipeline from this step node (the step and everything downstream of it). */
export const lineageRunMessageSchema = webviewMessage('run', z.strictObject({ nodeId: webviewIdSchema }));

export const lineageFromViewSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  viewErrorMessageSchema,
  lineageOpenMessageSchema,
  lineageRunMessageSchema,
]);
export type LineageFromView = z.infer<typeof lineageFromViewSchema>;

export const lineageViewStateSchema = z.looseObject({ query: lineageQuerySchema });
