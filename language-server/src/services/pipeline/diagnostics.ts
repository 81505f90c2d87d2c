import { checkPipeline, type CairnDiagnostic, type PipelineDocument } from '@cairn/protocol';
import { hostConfine } from '../confine.js';
import type { WorkspaceHost } from '../types.js';
import { resolveBeside } from './targets.js';

/** Every finding of the pipeline (protocol's checkPipeline), with file existence and confinement asked of the workspace. */
export function diagnosticsOf(doc: PipelineDocument, host: WorkspaceHost): CairnDiagnostic[] {
  const confine = hostConfine(host, doc.file);
  return checkPipeline(doc, {
    fileExists: (rel) => host.fileExists(resolveBeside(doc.file, rel)),
    ...(confine ? { confine } : {}),
  });
}
