/**
 * The model-card language (docs/model-card-spec.md): Markdown with Hugging Face front matter, checked for the
 * Mitchell et al. sections, Hub metadata rules and Cairn links. Pure: the file system comes in through a host.
 */
export { isModelCardFile, parseModelCard, frontMatterKeys, cairnKeys } from './parse.js';
export { checkModelCard, linkedPipeline, insertSectionFix, cardAnchor, metricKey } from './check.js';
export {
  cardSections,
  cardSection,
  requiredSectionIds,
  normalizeHeading,
  sectionsOfHeading,
  sectionTemplate,
  modelCardTemplate,
  type CardSectionId,
  type CardSectionSpec,
} from './sections.js';
export { scanHeadings, classifyContent, type MarkdownHeading, type SectionContent } from './markdown.js';
export {
  hfLicenses,
  spdxLicenses,
  isKnownLicense,
  licenseName,
  allLicenseIds,
  pipelineTags,
  libraryNames,
  metricNames as cardMetricNames,
} from './vocabulary.js';
export type {
  Located,
  FrontMatterEntry,
  CardFrontMatter,
  ModelIndexMetric,
  ModelIndexResult,
  ModelIndexEntry,
  CairnLink,
  CardMetadata,
  CardHeading,
  ParsedModelCard,
  ModelCardHost,
} from './types.js';
