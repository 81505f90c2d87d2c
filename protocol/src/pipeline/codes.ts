import { Severity } from '../diagnostics.js';

/**
 * Stable diagnostic codes of the pipeline language (documented with examples in docs/pipeline-spec.md). Tools and
 * users filter on them: never rename one, only add.
 */
export const PipelineCode = {
  /** The text is not valid YAML. */
  yamlSyntax: 'yaml-syntax',
  /** The file holds more than one YAML document. */
  multiDocument: 'multi-document',
  /** The root is not a mapping (empty file, a list, a scalar). */
  notAMapping: 'not-a-mapping',
  /** A mapping repeats a key. */
  duplicateKey: 'duplicate-key',
  /** A key that is not part of the language at this place. */
  unknownKey: 'unknown-key',
  /** A required key is missing. */
  missingKey: 'missing-key',
  /** A value of the wrong type (a string where a number is expected...). */
  wrongType: 'wrong-type',
  /** A value of the right type outside what is allowed (range, enum, format). */
  invalidValue: 'invalid-value',
  /** `version` is not a version this tool understands. */
  unsupportedVersion: 'unsupported-version',
  /** A step, param or data name that is not an identifier. */
  invalidName: 'invalid-name',
  /** A step with both or neither of `run:` and `uses:`, or keys that belong to the other kind. */
  invalidStep: 'invalid-step',
  /** `uses:` names no built-in. */
  unknownBuiltin: 'unknown-builtin',
  /** A `with:` option the built-in does not take. */
  unknownOption: 'unknown-option',
  /** A `with:` option of the wrong type or out of range for the built-in. */
  optionType: 'option-type',
  /** A required `with:` option is missing. */
  missingOption: 'missing-option',
  /** A malformed `${...}`. */
  interpolationSyntax: 'interpolation-syntax',
  unknownParam: 'unknown-param',
  unknownData: 'unknown-data',
  unknownStep: 'unknown-step',
  unknownOutput: 'unknown-output',
  /** Steps that depend on each other in a loop. */
  cycle: 'cycle',
  /** A dependency or data file that does not exist. */
  missingFile: 'missing-file',
  /** Two steps write the same output path. */
  duplicateOutput: 'duplicate-output',
  /** A path that leaves the pipeline's folder (absolute, or `..` above it). */
  pathEscapes: 'path-escapes',
  /** A param no step, data entry or deploy block reads. */
  unusedParam: 'unused-param',
  /** A step whose outputs nobody uses, that is not a final step (see the spec for the exact rule). */
  unusedStep: 'unused-step',
  /** A `gate:` metric the built-in does not report. */
  unknownMetric: 'unknown-metric',
  /** A param default that does not match its declared type or bounds. */
  paramType: 'param-type',
  /** A secret param with a default value written in the file. */
  secretInFile: 'secret-in-file',
  /** A `deploy.ab.split` that does not name two arms (one `champion` or `challenger`), or whose shares do not add up to 1. */
  abSplit: 'ab-split',
  /** `cairn run -p` names an unknown param, or gives a value of the wrong type (resolve only). */
  badOverride: 'bad-override',
  /** A param without default and without override (resolve only). */
  missingParam: 'missing-param',
  /** A step's `resources:` no partition of the configured Slurm cluster can give (`cairn validate`, executor slurm). */
  unsatisfiableResources: 'unsatisfiable-resources',
  /** `executor: slurm`, but `sinfo` could not reach the cluster: the resource check did not run (`cairn validate`). */
  clusterUnreachable: 'cluster-unreachable',
} as const;
export type PipelineCode = (typeof PipelineCode)[keyof typeof PipelineCode];

/** Default severity of each code. */
export const pipelineCodeSeverity: Record<PipelineCode, Severity> = {
  'yaml-syntax': Severity.Error,
  'multi-document': Severity.Error,
  'not-a-mapping': Severity.Error,
  'duplicate-key': Severity.Error,
  'unknown-key': Severity.Error,
  'missing-key': Severity.Error,
  'wrong-type': Severity.Error,
  'invalid-value': Severity.Error,
  'unsupported-version': Severity.Error,
  'invalid-name': Severity.Error,
  'invalid-step': Severity.Error,
  'unknown-builtin': Severity.Error,
  'unknown-option': Severity.Error,
  'option-type': Severity.Error,
  'missing-option': Severity.Error,
  'interpolation-syntax': Severity.Error,
  'unknown-param': Severity.Error,
  'unknown-data': Severity.Error,
  'unknown-step': Severity.Error,
  'unknown-output': Severity.Error,
  cycle: Severity.Error,
  'missing-file': Severity.Warning,
  'duplicate-output': Severity.Error,
  'path-escapes': Severity.Error,
  'unused-param': Severity.Warning,
  'unused-step': Severity.Hint,
  'unknown-metric': Severity.Warning,
  'param-type': Severity.Error,
  'secret-in-file': Severity.Warning,
  'ab-split': Severity.Error,
  'bad-override': Severity.Error,
  'missing-param': Severity.Error,
  'unsatisfiable-resources': Severity.Error,
  'cluster-unreachable': Severity.Warning,
};
