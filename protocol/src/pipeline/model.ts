import type { CairnDiagnostic } from '../diagnostics.js';
import type { LineIndex, Span } from '../text.js';
import type { Confinement } from '../paths/confine.js';

/**
 * The contract between the pipeline language (protocol/src/pipeline/) and its users: the language server's services,
 * `cairn validate`, and the runtime. Everything here is in offsets (Span) into `ParsedPipeline.text`.
 */

export type ParamType = 'int' | 'float' | 'string' | 'bool' | 'list' | 'map';

export interface Symbol {
  name: string;
  /** The key that declares it (what rename edits, what go-to-definition lands on). */
  keySpan: Span;
  /** The whole entry (key and value). */
  span: Span;
}

export interface ParamSymbol extends Symbol {
  type: ParamType;
  value: unknown;
  secret: boolean;
  description?: string;
}

export interface OutputSymbol extends Symbol {
  /** Path relative to the pipeline's folder, for command steps; the runtime-assigned file for built-ins. */
  path: string;
}

export interface StepSymbol extends Symbol {
  kind: 'run' | 'uses';
  uses?: string;
  outputs: Map<string, OutputSymbol>;
  /** Explicit `needs:` entries (reference spans are in `ParsedPipeline.references`). */
  needs: string[];
}

export interface PipelineSymbols {
  params: Map<string, ParamSymbol>;
  data: Map<string, Symbol>;
  steps: Map<string, StepSymbol>;
}

/**
 * A use of a name: `${params.x}`, `${data.d}`, `${steps.s.outputs.o}`, a `needs:` entry, a `gate:` metric...
 * `nameSpan` covers exactly the name being referred to (what rename replaces); `span` the whole reference.
 */
export type PipelineReference =
  | { kind: 'param'; name: string; nameSpan: Span; span: Span }
  | { kind: 'data'; name: string; nameSpan: Span; span: Span }
  | { kind: 'step'; name: string; nameSpan: Span; span: Span }
  | { kind: 'output'; step: string; name: string; stepSpan: Span; nameSpan: Span; span: Span };

/** Where an offset falls in the YAML structure, for completion and hover. */
export interface NodeLocation {
  /** Keys from the root, e.g. ['steps', 'train', 'with', 'lr']; sequence items as numbers. */
  path: Array<string | number>;
  /** On a key, on a scalar value, or in empty space where a new key of the mapping at `path` could go. */
  on: 'key' | 'value' | 'newKey';
  /** The span of the key or value under the offset (empty at the offset for `newKey`). */
  span: Span;
  /** The interpolation `${...}` the offset is inside, if any, with the text typed so far before the offset. */
  interpolation?: { span: Span; prefix: string };
}

export interface ParsedPipeline {
  /** Path as given (absolute or workspace-relative); diagnostics are reported against it. */
  file: string;
  text: string;
  lines: LineIndex;
  /** The structure as written (interpolations unresolved); undefined when the text is not a YAML mapping. */
  value: unknown;
  symbols: PipelineSymbols;
  references: PipelineReference[];
  /** Syntax and schema findings (no file-system or cross-file checks). */
  diagnostics: CairnDiagnostic[];
  nodeAt(offset: number): NodeLocation | undefined;
}

/** What the semantic pass may look at outside the text. All paths are relative to the pipeline's folder. */
export interface PipelineHost {
  fileExists(relativePath: string): boolean;
  /**
   * Where a path leads with its symbolic links followed (protocol/src/paths/confine.ts, with the host's file system);
   * `allowed` are the pipeline's `allow_outside:` folders. Without it, paths are checked as text only.
   */
  confine?(relativePath: string, allowed: readonly string[]): Confinement;
}

/** A pipeline ready to execute: every `${...}` resolved, every path relative to `root`. */
export interface ResolvedPipeline {
  name: string;
  /** Absolute path of the pipeline file. */
  file: string;
  /** Absolute folder of the pipeline file: every relative path below is relative to it. */
  root: string;
  params: Record<string, { value: unknown; type: ParamType; secret: boolean; overridden: boolean }>;
  /** Steps in a topological order (dependencies first). */
  steps: ResolvedStep[];
  deploy?: ResolvedDeploy;
  /** Data entries: resolved path (relative to root) and column rules, by name. */
  data?: Record<string, { path: string; schema?: Record<string, unknown> }>;
  /** `allow_outside:`: absolute folders (or files) outside the workspace that steps may read, never write. */
  allowOutside?: string[];
}

export interface ResolvedStep {
  name: string;
  /** Every upstream step: explicit `needs` and those implied by references to their outputs. */
  needs: string[];
  kind: 'run' | 'uses';
  /** Command line, interpolated (command steps). */
  run?: string;
  /** Built-in name and its options, interpolated and defaulted (built-in steps). */
  uses?: string;
  with?: Record<string, unknown>;
  /** Files the step reads (dependency files and upstream outputs), relative to root. */
  deps: string[];
  /** Output name → path relative to root. */
  outs: Record<string, string>;
  /** Names of the params the step reads; their values are part of the cache key. */
  params: string[];
  /** Metric files a command step writes (JSON), relative to root. */
  metrics: string[];
  env: Record<string, string>;
  resources: { cpu?: number; gpu?: 'none' | 'optional' | 'required'; memory?: string };
  gate: Record<string, { min?: number; max?: number }>;
  /** false: never restored from cache (e.g. a step that fetches fresh data). */
  cache: boolean;
  /** Column rules of the `data:` entry an input option reads directly (`${data.d}`), by option name (built-ins). */
  dataSchemas?: Record<string, Record<string, unknown>>;
}

export interface ResolvedDeploy {
  model: string;
  card?: string;
  serve: { host: string; port: number };
  monitor?: {
    reference: string;
    window: string;
    drift: Record<string, { test?: string; threshold?: number }>;
    onDrift?: 'retrain' | 'alert';
  };
  ab?: { split: Record<string, number>; key?: string; metric?: string };
}
