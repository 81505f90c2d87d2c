import type { Confinement } from '../paths/confine.js';
import type { CairnDiagnostic } from '../diagnostics.js';
import type { LineIndex, Span } from '../text.js';
import type { MarkdownHeading } from './markdown.js';
import type { CardSectionId } from './sections.js';

/**
 * The parsed form of a model card (docs/model-card-spec.md), shared by the language server, `cairn validate` and the
 * runtime's promotion gate. Everything is in offsets (Span) into `ParsedModelCard.text`.
 */

/** A front-matter value with where it is written. */
export interface Located<T> {
  value: T;
  /** The value (for a missing value: empty, right after the key's colon). */
  span: Span;
  /** The key that holds it. */
  keySpan: Span;
}

/** A top-level front-matter key. */
export interface FrontMatterEntry {
  key: string;
  keySpan: Span;
  /** The value node; empty at the end of the key when the value is missing. */
  valueSpan: Span;
  value: unknown;
}

export interface CardFrontMatter {
  /** From the opening `---` to the end of the closing fence line (or of the text when unclosed). */
  span: Span;
  /** The YAML between the fences. */
  contentSpan: Span;
  closed: boolean;
  /** The YAML as plain data; undefined when empty or unreadable. */
  value: unknown;
  entries: FrontMatterEntry[];
}

export interface ModelIndexMetric {
  span: Span;
  type?: Located<string>;
  name?: Located<string>;
  /** Usually a number; the Hub also accepts strings ("91.3 ± 0.2"). */
  value?: Located<unknown>;
}

export interface ModelIndexResult {
  span: Span;
  taskType?: Located<string>;
  datasetType?: Located<string>;
  datasetName?: Located<string>;
  metrics: ModelIndexMetric[];
}

export interface ModelIndexEntry {
  span: Span;
  name?: Located<string>;
  results: ModelIndexResult[];
}

/** The `cairn:` block: links the card to its pipeline and model. */
export interface CairnLink {
  span: Span;
  keySpan: Span;
  /** Pipeline file, relative to the card's folder. */
  pipeline?: Located<string>;
  /** A step of that pipeline that produces the model, or a registered model name. */
  model?: Located<string>;
  /** The model was trained or evaluated on personal data: a privacy section is required. */
  personalData?: Located<boolean>;
}

export interface CardMetadata {
  /** `license`: one id, or several when written as a list. */
  licenses: Array<Located<string>>;
  licenseName?: Located<string>;
  licenseLink?: Located<string>;
  pipelineTag?: Located<string>;
  libraryName?: Located<string>;
  /** `metrics:` (the metric ids the card reports). */
  metrics: Array<Located<string>>;
  modelIndex: ModelIndexEntry[];
  cairn?: CairnLink;
}

export interface CardHeading extends MarkdownHeading {
  /** The model-card sections this heading counts as. */
  sections: CardSectionId[];
}

export interface ParsedModelCard {
  /** Path as given (absolute or workspace-relative); diagnostics are reported against it. */
  file: string;
  text: string;
  lines: LineIndex;
  frontMatter?: CardFrontMatter;
  /** The Markdown after the front matter. */
  bodySpan: Span;
  headings: CardHeading[];
  metadata: CardMetadata;
  /** Syntax and schema findings of the front matter (no file-system, cross-file or section checks). */
  diagnostics: CairnDiagnostic[];
}

/** What `checkModelCard` may ask outside the card. Paths are as the card's `file` is (absolute in the server). */
export interface ModelCardHost {
  fileExists(path: string): boolean;
  /** Where a path leads with its symbolic links followed (absent: links are not looked at). */
  confine?(path: string): Confinement;
  /** Pipelines that name this card (e.g. `model.register` with `card:`, or `deploy.card`). */
  pipelinesNamingCard?(file: string): string[];
  /** Metrics tracked by the runtime for a model (a step or registered model name). */
  trackedMetrics?(model: string): Record<string, number> | undefined;
  /** Whether a pipeline reads data flagged as personal (`pii: true` columns, or detected by data.validate). */
  pipelineHasPersonalData?(pipeline: string): boolean;
}
