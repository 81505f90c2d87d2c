import {
  LineIndex,
  checkModelCard,
  parseModelCard,
  type CairnDiagnostic,
  type ModelCardHost,
  type TextFix,
} from '@cairn/protocol';

/** `code line:char-line:char` (0-based), the form the fixture sidecar uses. */
export function describe(text: string, d: CairnDiagnostic): string {
  const r = new LineIndex(text).rangeOf(d.span);
  return `${d.code} ${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

/** A host over a fixed set of files, nothing tracked. */
export function hostWith(files: string[] = [], extra: Partial<ModelCardHost> = {}): ModelCardHost {
  const set = new Set(files);
  return { fileExists: (p) => set.has(p), ...extra };
}

export function check(text: string, host: ModelCardHost = hostWith(), file = '/ws/MODEL_CARD.md'): CairnDiagnostic[] {
  return checkModelCard(parseModelCard(file, text), host);
}

export function applyFix(text: string, fix: TextFix): string {
  return text.slice(0, fix.span.start) + fix.newText + text.slice(fix.span.end);
}

/** Splits `a|b` into the text without the marker and the marker's offset. */
export function cursor(marked: string): { text: string; offset: number } {
  const offset = marked.indexOf('|');
  if (offset < 0) throw new Error('no | cursor in the test text');
  return { text: marked.slice(0, offset) + marked.slice(offset + 1), offset };
}
