/**
 * The pipeline language: parse (YAML with offsets → schema mapping → symbols; block by block when it can), check
 * (semantics), resolve (what the executor runs). One implementation for the language server, `cairn validate` and the
 * runtime. Layout: docs/architecture.md, "The pipeline language".
 */
export { parsePipeline, isPipelineDocument, type PipelineDocument, type ParseOptions } from './parse.js';
export {
  builtinOutputPath,
  outputNameOfPath,
  pathUses,
  type StepInfo,
  type DataInfo,
  type PathUse,
} from './symbols.js';
export { withinSpan } from './cursor.js';
export { projectedDependencies } from './crossReuse.js';
export { checkPipeline, abSplitArms, escapesRoot, normalizePath, type AbArms } from './check.js';
export { resolvePipeline, type ResolveOptions, type ResolveResult } from './resolve.js';
export { PipelineCode, pipelineCodeSeverity } from './codes.js';
export {
  pipelineJsonSchema,
  pipelineSchema,
  stepSchema,
  deploySchema,
  schemaAt,
  unwrap,
  describeType,
  enumValues,
  objectKeys,
  namePattern,
  type SchemaInfo,
} from './schema.js';
export { scanInterpolations, exactInterpolation, interpolate, interpolationForms } from './interpolation.js';
export {
  matrixSchema,
  distributionSchema,
  expandMatrix,
  matrixParams,
  combinationOverrides,
  gridValues,
  type Matrix,
  type Distribution,
  type Combination,
  type MatrixValue,
} from './matrix.js';
export { closest, suggestionFix } from './suggest.js';
export type { YNode, YMap, YSeq, YScalar, YEntry } from './yamlTree.js';
export { makeDiagnostic, mapGet, nodeAtPath, toValue } from './yamlTree.js';

/** `cairn.yaml`, `cairn.yml`, `*.cairn.yaml`, `*.cairn.yml` (as package.json registers the language). */
export function isPipelineFile(path: string): boolean {
  const base = path.split(/[\\/]/).pop() ?? path;
  return /^cairn\.ya?ml$/i.test(base) || /\.cairn\.ya?ml$/i.test(base);
}
