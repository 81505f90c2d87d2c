import { parsePipeline, type PipelineDocument } from '@cairn/protocol';
import type { LanguageService } from '../types.js';
import { completionsAt } from './completion.js';
import { definitionAt } from './definition.js';
import { dependenciesOf } from './dependencies.js';
import { diagnosticsOf } from './diagnostics.js';
import { hoverAt } from './hover.js';
import { outline } from './outline.js';
import { referencesAt } from './references.js';
import { prepareRenameAt, renameAt } from './rename.js';

/**
 * The pipeline language service: pure functions of the parsed document (protocol/src/pipeline) and the workspace
 * host, one file per feature beside this one. Everything is in offsets; the handlers convert to LSP ranges.
 */
export const pipelineService: LanguageService<PipelineDocument> = {
  parse: (file, text, previous, owned) => parsePipeline(file, text, previous, { consume: owned === true }),
  diagnostics: (doc, host) => diagnosticsOf(doc, host),
  completions: (doc, offset) => completionsAt(doc, offset),
  hover: (doc, offset) => hoverAt(doc, offset),
  definition: (doc, offset) => definitionAt(doc, offset),
  references: (doc, offset, _host, includeDeclaration) => referencesAt(doc, offset, includeDeclaration),
  prepareRename: (doc, offset) => prepareRenameAt(doc, offset),
  rename: (doc, offset, newName) => renameAt(doc, offset, newName),
  symbols: (doc) => outline(doc),
  dependencies: (doc) => dependenciesOf(doc),
};
