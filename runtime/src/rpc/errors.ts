import { ResponseError } from 'vscode-jsonrpc/node';
import type { z } from 'zod';
import { CairnError, type CairnErrorKind } from '../util/errors.js';

/** JSON-RPC error codes of the runtime (application range). */
export const RuntimeErrorCode = { InvalidParams: -32602, NotFound: -32001, Refused: -32002, Internal: -32603 } as const;

/** The one mapping from a failure's kind to its JSON-RPC code. */
const codeOfKind: Readonly<Record<CairnErrorKind, number>> = {
  'not-found': RuntimeErrorCode.NotFound,
  invalid: RuntimeErrorCode.InvalidParams,
  refused: RuntimeErrorCode.Refused,
};

/** A request's params checked with its protocol schema; a mismatch is an invalid-params error naming the fields. */
export function check<T>(schema: z.ZodType<T>, params: unknown, method: string): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    throw new ResponseError(RuntimeErrorCode.InvalidParams, `${method}: invalid params: ${issues}`);
  }
  return parsed.data;
}

/** Known, user-fixable failures (a CairnError) keep their kind's code; anything else is internal, with its message. */
export function toResponseError(error: unknown): ResponseError<void> {
  if (error instanceof ResponseError) return error as ResponseError<void>;
  if (error instanceof CairnError) return new ResponseError(codeOfKind[error.kind], error.message);
  return new ResponseError(RuntimeErrorCode.Internal, error instanceof Error ? error.message : String(error));
}

/** A request handler whose failures reach the client as JSON-RPC errors (never as an unhandled rejection). */
export function guarded<P, R>(fn: (params: P) => R | Promise<R>): (params: P) => Promise<R | ResponseError<void>> {
  return async (params: P) => {
    try {
      return await fn(params);
    } catch (error) {
      return toResponseError(error);
    }
  };
}
