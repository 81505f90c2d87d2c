import type { CairnDiagnostic } from '../diagnostics.js';
import { PipelineCode } from './codes.js';
import type { PipelineDocument } from './parse.js';
import { closest, suggestionFix } from './suggest.js';
import { makeDiagnostic, nodeAtPath } from './yamlTree.js';

/**
 * `matrix:` semantics beyond its shape (structure.ts checks that with the zod schema): every swept param must be one
 * the pipeline declares, or each combination's run would be refused; a typo gets the closest name as a quick fix.
 */
export function checkMatrix(doc: PipelineDocument, out: CairnDiagnostic[]): void {
  const declared = [...doc.symbols.params.keys()];
  for (const where of [
    ['matrix', 'params'],
    ['matrix', 'random', 'params'],
  ]) {
    const node = nodeAtPath(doc.root, where);
    if (node?.kind !== 'map') continue;
    for (const entry of node.entries) {
      if (doc.symbols.params.has(entry.key)) continue;
      const suggestion = closest(entry.key, declared);
      const hint = suggestion
        ? `did you mean '${suggestion}'?`
        : `declare it under params: (${declared.join(', ') || 'none yet'})`;
      const message = `The matrix sweeps '${entry.key}', which is not a param of this pipeline: ${hint}`;
      out.push(
        makeDiagnostic(PipelineCode.unknownParam, message, entry.keySpan, suggestionFix(entry.keySpan, suggestion)),
      );
    }
  }
}
