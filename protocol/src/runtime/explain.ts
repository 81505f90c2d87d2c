/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does; STYLE.md. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { explanationsSchema } from '../explain.js';

/**
 * Client → runtime: a run's explanations — each `explanations` output its evaluate steps recorded (explanations.json,
 * protocol/src/explain.ts), read from the artifact store by the hash the run recorded, not from the workspace file (a
 * later run may have overwritten it). An unknown run, a run without explanations, or an unknown step is a not-found
 * error saying what to do. Documented in docs/protocol.md.
 */
export namespace RunExplanationsRequest {
  export const method = 'runtime/explanations' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    /** Only this step's explanations (default: every step of the run that wrote some). */
    step: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({
    runId: z.number().int(),
    /** In step order; never empty (a run without explanations is not-found). */
    steps: z.array(z.object({ step: z.string(), path: z.string(), explanations: explanationsSchema })).min(1),
  });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
