import { parsePipeline } from '@cairn/protocol';

/**
 * What the lenses and the Pipelines tree need of a pipeline file: its name (as the runtime names runs) and its steps
 * with their key offsets and `needs`. Uses the protocol's parser, the same one the language server and the runtime use.
 * Pure (unit-tested).
 */
export interface PipelineOutline {
  name: string;
  /** Offset of the first top-level key (where "Run all" goes). */
  topOffset: number;
  steps: Array<{ name: string; needs: string[]; keyStart: number; keyEnd: number; uses: string | undefined }>;
}

/** The runtime's rule: `name:` when it is a string, else the file name without `.cairn.yaml` / `.yaml`. */
export function pipelineName(file: string, value: unknown): string {
  const declared = typeof value === 'object' && value !== null && 'name' in value ? value.name : undefined;
  if (typeof declared === 'string' && declared.length > 0) return declared;
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.cairn\.ya?ml$|\.ya?ml$/, '');
}

export function outlinePipeline(file: string, text: string): PipelineOutline {
  const doc = parsePipeline(file, text);
  const firstKey = /^[A-Za-z_]/m.exec(text);
  const steps = [...doc.symbols.steps.values()]
    .map((s) => {
      // `${steps.a.outputs.x}` inside a step makes it depend on `a` as much as `needs: [a]` does.
      const implied = doc.references.filter(
        (r) => r.kind === 'output' && r.span.start >= s.span.start && r.span.end <= s.span.end && r.step !== s.name,
      );
      const needs = [...new Set([...s.needs, ...implied.map((r) => (r.kind === 'output' ? r.step : ''))])];
      return { name: s.name, needs, keyStart: s.keySpan.start, keyEnd: s.keySpan.end, uses: s.uses };
    })
    .sort((a, b) => a.keyStart - b.keyStart);
  return { name: pipelineName(file, doc.value), topOffset: firstKey?.index ?? 0, steps };
}
