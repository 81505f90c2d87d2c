import { parsePipeline, type CairnDiagnostic, type PipelineDocument } from '@cairn/protocol';
import { seededRandom } from '../../../runtime/src/util/prng.js';

/** The shared seeded generator (mulberry32). */
export const prng = seededRandom;

/** Everything observable about a parse, as plain data (for deepEqual between two parses). */
export function snapshot(doc: PipelineDocument): unknown {
  const steps = [...doc.symbols.steps.values()].map((s) => ({
    name: s.name,
    keySpan: s.keySpan,
    span: s.span,
    kind: s.kind,
    uses: s.uses,
    needs: s.needs,
    outputs: [...s.outputs.values()].map((o) => ({ name: o.name, keySpan: o.keySpan, span: o.span, path: o.path })),
  }));
  const params = [...doc.symbols.params.values()].map((p) => ({
    name: p.name,
    keySpan: p.keySpan,
    span: p.span,
    type: p.type,
    value: p.value,
    secret: p.secret,
  }));
  const data = [...doc.symbols.data.values()].map((d) => ({
    name: d.name,
    keySpan: d.keySpan,
    span: d.span,
    path: d.path,
    from: d.from,
  }));
  return {
    value: doc.value,
    steps,
    params,
    data,
    references: doc.references,
    diagnostics: sortDiagnostics(doc.diagnostics),
  };
}

export function sortDiagnostics(ds: readonly CairnDiagnostic[]): CairnDiagnostic[] {
  return [...ds].sort(
    (a, b) =>
      a.span.start - b.span.start ||
      a.span.end - b.span.end ||
      a.code.localeCompare(b.code) ||
      a.message.localeCompare(b.message),
  );
}

/** `text` with the `|` cursor marker removed, and the marker's offset. */
export function cursor(marked: string): { text: string; offset: number } {
  const offset = marked.indexOf('|');
  if (offset < 0) throw new Error('test text has no | cursor');
  return { text: marked.slice(0, offset) + marked.slice(offset + 1), offset };
}

export function parse(text: string, file = 'test.cairn.yaml'): PipelineDocument {
  return parsePipeline(file, text);
}
