import { mapGet, projectedDependencies, type PipelineDocument } from '@cairn/protocol';
import { filesRead, resolveBeside } from './targets.js';

/** The files whose change can change this pipeline's findings (absolute): re-checked on the watcher's events. */
export function dependenciesOf(doc: PipelineDocument): string[] {
  // Kept from the last check while the edit leaves what the cross-step passes see alone (paths included).
  return [...projectedDependencies(doc, () => computeDependencies(doc))];
}

function computeDependencies(doc: PipelineDocument): string[] {
  const files = new Set<string>();
  for (const p of filesRead(doc)) files.add(resolveBeside(doc.file, p.value));
  // The card a model.register step names is a dependency too.
  for (const s of doc.symbols.steps.values()) {
    if (s.uses !== 'model.register' || s.entry.value.kind !== 'map') continue;
    const w = mapGet(s.entry.value, 'with')?.value;
    const card = w?.kind === 'map' ? mapGet(w, 'card')?.value : undefined;
    if (card?.kind === 'scalar' && typeof card.value === 'string' && !card.value.includes('${'))
      files.add(resolveBeside(doc.file, card.value));
  }
  return [...files];
}
