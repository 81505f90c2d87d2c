import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineIndex } from '@cairn/protocol';
import { workspaceConfigFile } from '@cairn/protocol/config.js';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { WorkspaceHost } from '../services/types.js';
import type { BoundLanguage, DocRef, LanguageId } from './languages.js';

export interface Languages {
  pipeline?: BoundLanguage;
  modelCard?: BoundLanguage;
  workspaceConfig?: BoundLanguage;
}

const pipelineName = /^(cairn\.ya?ml|.+\.cairn\.ya?ml)$/i;
const cardName = /^(MODEL_CARD\.md|.+\.modelcard\.md)$/i;
const markdownName = /\.(md|markdown)$/i;
const skippedFolders = new Set([
  'node_modules',
  '.git',
  '.cairn',
  'dist',
  'out',
  '.tsbuild',
  '.venv',
  'venv',
  '__pycache__',
]);
/** Bounds the start-up scan so a huge workspace cannot stall the server. */
const maxScannedEntries = 50_000;

export function isPipelineFile(file: string): boolean {
  return pipelineName.test(path.basename(file));
}

/** `.cairn/config.yaml` of a workspace (any folder's). */
export function isWorkspaceConfigFile(file: string): boolean {
  return file.replace(/\\/g, '/').endsWith(`/${workspaceConfigFile}`);
}

export function isCardFile(file: string): boolean {
  return cardName.test(path.basename(file));
}

export function uriToPath(uri: string): string {
  if (!uri.startsWith('file:')) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    // A malformed file URI: keep the URI itself as the document's name rather than failing the request.
    return uri;
  }
}

/**
 * What the server knows about the workspace outside one document: open buffers first, else disk; which pipelines name
 * which model cards; metrics the runtime reported. Answers the services through `WorkspaceHost` snapshots.
 */
export class Workspace {
  private readonly uriByPath = new Map<string, string>();
  /** Pipeline file → model cards it names (absolute paths). */
  private readonly cardsByPipeline = new Map<string, Set<string>>();
  private readonly metrics = new Map<string, Record<string, number>>();
  private readonly lineIndexes = new WeakMap<TextDocument, { version: number; index: LineIndex }>();
  folders: string[] = [];

  constructor(
    private readonly documents: { get(uri: string): TextDocument | undefined; all(): TextDocument[] },
    readonly languages: Languages,
  ) {}

  opened(doc: TextDocument): void {
    this.uriByPath.set(uriToPath(doc.uri), doc.uri);
  }

  closed(uri: string): void {
    const file = uriToPath(uri);
    if (this.uriByPath.get(file) === uri) this.uriByPath.delete(file);
    this.languages.pipeline?.forget(uri);
    this.languages.modelCard?.forget(uri);
    this.languages.workspaceConfig?.forget(uri);
  }

  /** The URI to report for a file: the open document's own URI when open (same spelling as the client's). */
  uriOf(file: string): string {
    const open = this.uriByPath.get(file);
    if (open !== undefined) return open;
    return path.isAbsolute(file) ? pathToFileURL(file).href : file;
  }

  openDocument(file: string): TextDocument | undefined {
    const uri = this.uriByPath.get(file);
    return uri === undefined ? undefined : this.documents.get(uri);
  }

  docRef(doc: TextDocument): DocRef {
    return { key: doc.uri, file: uriToPath(doc.uri), text: doc.getText() };
  }

  /** Offset↔position conversion for an open document, once per version (the service's own when it keeps one). */
  lineIndex(doc: TextDocument): LineIndex {
    const cached = this.lineIndexes.get(doc);
    if (cached && cached.version === doc.version) return cached.index;
    const language = this.languageOf(doc);
    const index = (language && language.lineIndex(this.docRef(doc))) ?? new LineIndex(doc.getText());
    this.lineIndexes.set(doc, { version: doc.version, index });
    return index;
  }

  languageIdOf(doc: TextDocument): LanguageId | undefined {
    const file = uriToPath(doc.uri);
    if (doc.languageId === 'cairn-pipeline' || isPipelineFile(file)) return 'pipeline';
    if (doc.languageId === 'cairn-model-card' || isCardFile(file)) return 'modelCard';
    if (isWorkspaceConfigFile(file)) return 'workspaceConfig';
    if ((doc.languageId === 'markdown' || markdownName.test(file)) && this.pipelinesNamingCard(file).length > 0)
      return 'modelCard';
    return undefined;
  }

  languageOf(doc: TextDocument): BoundLanguage | undefined {
    const id = this.languageIdOf(doc);
    return id === undefined ? undefined : this.languages[id];
  }

  pipelinesNamingCard(file: string): string[] {
    const result: string[] = [];
    for (const [pipeline, cards] of this.cardsByPipeline) if (cards.has(file)) result.push(pipeline);
    return result.sort();
  }

  setTrackedMetrics(model: string, metrics: Record<string, number>): void {
    if (Object.keys(metrics).length === 0) this.metrics.delete(model);
    else this.metrics.set(model, metrics);
  }

  /**
   * A host for one operation: file reads and existence checks are memoised for its duration only, so a 1,000-step
   * pipeline does not stat the same file twice, and nothing stale survives into the next edit.
   */
  host(): WorkspaceHost {
    const exists = new Map<string, boolean>();
    const texts = new Map<string, string | undefined>();
    const links = new Map<string, string | undefined>();
    return {
      fileExists: (file) => {
        if (this.openDocument(file)) return true;
        let known = exists.get(file);
        if (known === undefined) {
          known = fs.existsSync(file);
          exists.set(file, known);
        }
        return known;
      },
      readText: (file) => {
        const open = this.openDocument(file);
        if (open) return open.getText();
        if (texts.has(file)) return texts.get(file);
        const text = readFileOrUndefined(file);
        texts.set(file, text);
        return text;
      },
      pipelinesNamingCard: (file) => this.pipelinesNamingCard(file),
      trackedMetrics: (model) => this.metrics.get(model),
      readLink: (file) => {
        if (links.has(file)) return links.get(file);
        let target: string | undefined;
        try {
          target = fs.lstatSync(file).isSymbolicLink() ? fs.readlinkSync(file) : undefined;
        } catch {
          target = undefined; // missing or unreadable: no link to follow
        }
        links.set(file, target);
        return target;
      },
      workspaceFolderOf: (file) => this.folderOf(file),
    };
  }

  /** The innermost workspace folder holding `file` (as text). */
  folderOf(file: string): string | undefined {
    let best: string | undefined;
    for (const f of this.folders) {
      const rel = path.relative(f, file);
      const inside = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
      if (inside && (best === undefined || f.length > best.length)) best = f;
    }
    return best;
  }

  /** The text of any file: its open buffer, else disk. */
  readText(file: string): string | undefined {
    return this.openDocument(file)?.getText() ?? readFileOrUndefined(file);
  }

  /**
   * Re-reads which cards a pipeline names (from its open buffer or disk; deleted when gone). Returns the cards that
   * were named before or now but not both, whose documents change language and must be checked again.
   */
  reindexPipeline(file: string, dependencies?: string[]): string[] {
    const before = this.cardsByPipeline.get(file) ?? new Set<string>();
    const pipeline = this.languages.pipeline;
    const text = this.readText(file);
    if (!pipeline || text === undefined) {
      this.cardsByPipeline.delete(file);
      return [...before].filter((card) => this.pipelinesNamingCard(card).length === 0);
    }
    const open = this.openDocument(file);
    const doc: DocRef = { key: open ? open.uri : file, file, text };
    const now = new Set(pipeline.cardsNamed(doc, this.host(), dependencies));
    this.cardsByPipeline.set(file, now);
    return [...before, ...now].filter((card) => before.has(card) !== now.has(card));
  }

  /** Finds the pipelines of the workspace folders (bounded walk) so Markdown cards they name are recognised. */
  scanFolders(): void {
    let budget = maxScannedEntries;
    const walk = (dir: string, depth: number): void => {
      if (depth > 12 || budget <= 0) return;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // unreadable folder: nothing to index there
      }
      for (const entry of entries) {
        if (--budget <= 0) return;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!skippedFolders.has(entry.name)) walk(full, depth + 1);
        } else if (entry.isFile() && isPipelineFile(entry.name)) {
          this.reindexPipeline(full);
        }
      }
    };
    for (const folder of this.folders) walk(folder, 0);
  }

  openDocuments(): TextDocument[] {
    return this.documents.all();
  }
}

function readFileOrUndefined(file: string): string | undefined {
  if (!path.isAbsolute(file)) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // Missing or unreadable: the host contract says undefined, and the service reports it.
    return undefined;
  }
}
