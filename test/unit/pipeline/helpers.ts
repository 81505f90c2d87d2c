import type { YEntry, YNode } from '../../../protocol/src/pipeline/yamlTree.js';
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

/**
 * Every span object of the document's tree is its own, and no reference's span is one of the tree's: the incremental
 * parse moves a consumed document's spans in place, each once (incremental.ts, moveBlock). Returns the first shared one.
 */
export function sharedSpan(doc: PipelineDocument): string | undefined {
  const seen = new Set<object>();
  let shared: string | undefined;
  const see = (s: object, where: string) => {
    if (seen.has(s)) shared ??= where;
    seen.add(s);
  };
  const node = (n: YNode, where: string): void => {
    see(n.span, where);
    if (n.kind === 'map') for (const e of n.entries) entry(e, `${where}.${e.key}`);
    else if (n.kind === 'seq') n.items.forEach((i, k) => node(i, `${where}[${k}]`));
  };
  const entry = (e: YEntry, where: string): void => {
    see(e.keySpan, `${where} (key)`);
    see(e.span, `${where} (entry)`);
    node(e.value, where);
  };
  for (const e of doc.root?.entries ?? []) entry(e, e.key);
  for (const r of doc.references) {
    const own = new Set<object>([r.span, r.nameSpan, ...(r.kind === 'output' ? [r.stepSpan] : [])]);
    for (const s of own) see(s, `reference ${r.name}`);
  }
  return shared;
}
