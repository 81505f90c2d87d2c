/**
 * The one base of the runtime's user-fixable failures. A domain error says what kind of failure it is; a transport
 * turns the kind into its own terms (JSON-RPC codes: runtime/src/rpc/errors.ts) without knowing the domain. Anything
 * that is not a CairnError is a bug or an environment failure (an internal error).
 */
export const cairnErrorKinds = [
  /** What was named does not exist (a run, a model, an alias, a deployment, a lineage target). */
  'not-found',
  /** The request or its data is malformed (an unknown column, a bad alias name, a file that does not parse). */
  'invalid',
  /** Well-formed, but not allowed now or here (a path leaving the workspace, a failing gate, a running run). */
  'refused',
] as const;
export type CairnErrorKind = (typeof cairnErrorKinds)[number];

export class CairnError extends Error {
  constructor(
    readonly kind: CairnErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'CairnError';
  }
}
