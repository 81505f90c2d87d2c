import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  LineIndex,
  Severity,
  severityName,
  type CairnDiagnostic,
  type ResolvedPipeline,
  type ValidateDiagnostic,
} from '@cairn/protocol';
import type { PipelineDocument } from '@cairn/protocol/pipeline/index.js';
import { parsePipeline, resolvePipeline } from '@cairn/protocol/pipeline/index.js';
import { confiningHost } from '../util/confine.js';
import { isInside } from '../util/paths.js';

export type LoadResult =
  /** `document`: the parse the pipeline was resolved from (positions of what the file says, for callers' own messages). */
  | { ok: true; pipeline: ResolvedPipeline; warnings: ValidateDiagnostic[]; document: PipelineDocument }
  | { ok: false; diagnostics: ValidateDiagnostic[]; message?: string };

/**
 * Reads, checks and resolves a pipeline file for a run: the same parse → check → resolve as `cairn validate` and the
 * language server, so a run refuses exactly what the editor underlines, with the same diagnostics.
 * `file` is relative to `cwd` (or absolute) and must lie inside `workspace`.
 */
export function loadPipeline(
  file: string,
  options: { cwd: string; workspace: string; overrides?: Record<string, string> },
): LoadResult {
  const abs = path.resolve(options.cwd, file);
  if (!isInside(options.workspace, abs)) {
    return {
      ok: false,
      diagnostics: [],
      message: `pipeline ${file} is outside the workspace ${options.workspace}; run cairn from the workspace folder`,
    };
  }
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      diagnostics: [],
      message:
        code === 'ENOENT'
          ? `pipeline file ${file} does not exist`
          : `cannot read pipeline file ${file}: ${(error as Error).message}`,
    };
  }
  const root = path.dirname(abs);
  const parsed = parsePipeline(file, text);
  const result = resolvePipeline(parsed, {
    root,
    overrides: options.overrides ?? {},
    host: { fileExists: (rel) => existsSync(path.resolve(root, rel)), ...confiningHost(options.workspace, root) },
  });
  const lines = new LineIndex(text);
  const diagnostics = result.diagnostics.map((d) => toValidateDiagnostic(file, lines, d));
  if (!result.pipeline || result.diagnostics.some((d) => d.severity === Severity.Error))
    return { ok: false, diagnostics };
  return { ok: true, pipeline: result.pipeline, warnings: diagnostics, document: parsed };
}

/** The `cairn validate --format json` shape (0-based LSP positions). */
export function toValidateDiagnostic(file: string, lines: LineIndex, d: CairnDiagnostic): ValidateDiagnostic {
  return { file, range: lines.rangeOf(d.span), severity: severityName(d.severity), code: d.code, message: d.message };
}

/** `file:line:col: severity code: message`, 1-based, as compilers print (editors make it a link). */
export function formatDiagnosticText(d: ValidateDiagnostic): string {
  return `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity} ${d.code}: ${d.message}`;
}
