/**
 * The contract between the executor (runtime/src/executor/) and the implementations of the built-in steps
 * (runtime/src/builtins/<category>.ts). The catalogue — names, option schemas, outputs — is in
 * protocol/src/pipeline/builtins.ts; this is how a name runs.
 */
export interface BuiltinContext {
  /** Absolute folder of the pipeline file. */
  root: string;
  /** The step's name in the pipeline. */
  step: string;
  /**
   * Options of `with:`, interpolated, defaulted and checked against the built-in's schema. Options listed in the
   * spec's `inputs` hold absolute paths.
   */
  options: Record<string, unknown>;
  /** Output name → absolute path the step must write (its folder exists). Optional outputs may be left unwritten. */
  outputs: Record<string, string>;
  /** Column rules of the `data:` entry an input comes from, keyed by option name (for data.validate). */
  dataSchemas: Record<string, Record<string, unknown>>;
  /** A line for the step's log (streamed live to the editor and the terminal). */
  log(line: string): void;
  /** Records a metric; `step` is the x-axis (epoch, iteration) for histories. */
  metric(key: string, value: number, step?: number): void;
  /** Records a fact about the run, shown with it (e.g. `backend` = `tfjs-wasm`). */
  tag(key: string, value: string): void;
  /** Aborted when the run is cancelled: stop promptly, write nothing more. */
  signal: AbortSignal;
}

/** Thrown for failures the user can fix (bad data, a missing column): the message is shown as is, no stack. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export type BuiltinImpl = (ctx: BuiltinContext) => Promise<void>;
