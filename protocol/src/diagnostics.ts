import { z } from 'zod';
import type { Span } from './text.js';
import { rangeSchema } from './schemas.js';

/** Severities, ordered as LSP numbers them (1 = error). */
export const Severity = { Error: 1, Warning: 2, Information: 3, Hint: 4 } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

export const severityNames = ['error', 'warning', 'information', 'hint'] as const;
export type SeverityName = (typeof severityNames)[number];

export function severityName(s: Severity): SeverityName {
  return severityNames[s - 1] ?? 'error';
}

/**
 * A fix the language server can offer as a quick fix: replace `span` with `newText` (insert when the span is empty).
 * Produced by the language services that know the fix, so the LSP code-action handler only converts it.
 */
export interface TextFix {
  title: string;
  span: Span;
  newText: string;
  /** The preferred fix is applied by "Fix all" / auto-fix. */
  isPreferred?: boolean;
}

/**
 * A finding about a document, in offsets. Codes are stable (documented in docs/pipeline-spec.md and
 * docs/model-card-spec.md): tools and users may filter on them.
 */
export interface CairnDiagnostic {
  code: string;
  severity: Severity;
  message: string;
  span: Span;
  /** Quick fixes for this finding, if any. */
  fixes?: TextFix[];
  /** Other places that explain the finding (e.g. the first definition of a duplicate). */
  related?: Array<{ file?: string; span: Span; message: string }>;
  /** LSP diagnostic tags: 1 unnecessary (faded), 2 deprecated. */
  tags?: Array<1 | 2>;
}

/** The `cairn validate --format json` contract (docs/cli.md, `cairn validate`); 0-based LSP positions. */
export const validateDiagnosticSchema = z.object({
  file: z.string(),
  range: rangeSchema,
  severity: z.enum(severityNames),
  code: z.string(),
  message: z.string(),
});
export const validateOutputSchema = z.object({ diagnostics: z.array(validateDiagnosticSchema) });
export type ValidateDiagnostic = z.infer<typeof validateDiagnosticSchema>;
export type ValidateOutput = z.infer<typeof validateOutputSchema>;
