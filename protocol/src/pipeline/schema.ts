import { z } from 'zod';
import { matrixSchema } from './matrix.js';
import { columnSchemaSchema } from './builtins.js';
import { driftTestSettingSchema } from '../drift.js';

/**
 * The structure of a pipeline file in zod: the one source for validation, completion/hover docs and the published
 * JSON Schema. Values are as written (interpolations unresolved); `with:` options are checked per built-in in the
 * semantic pass, after interpolation types are known.
 */

export const namePattern = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const name = z.string().regex(namePattern);
const path = z.string().min(1);

export const paramTypes = ['int', 'float', 'string', 'bool', 'list', 'map'] as const;

export const paramLongSchema = z
  .object({
    type: z.enum(paramTypes).optional().describe('The value type (default: inferred from `default`).'),
    default: z
      .unknown()
      .optional()
      .describe('The value used when a run does not override it (`cairn run -p name=value`).'),
    description: z.string().optional().describe('What the param controls; shown in hover and run views.'),
    secret: z.boolean().optional().describe('Redact the value in logs, run views and exports.'),
    min: z.number().optional().describe('Smallest allowed value (int and float params).'),
    max: z.number().optional().describe('Largest allowed value (int and float params).'),
    values: z
      .array(z.union([z.string(), z.number()]))
      .optional()
      .describe('The allowed values.'),
  })
  .strict();

export const paramSchema = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.unknown()), paramLongSchema])
  .describe(
    'A param: a default value (`lr: 0.01`, type inferred) or the long form `{ type, default, description, secret, min, max }`.',
  );

export const dataEntrySchema = z
  .union([
    path,
    z
      .object({
        path: path.optional().describe('A file of the workspace, relative to the pipeline.'),
        from: path.optional().describe("Another step's output: `${steps.s.outputs.o}`."),
        description: z.string().optional().describe('What the data is.'),
        schema: columnSchemaSchema
          .optional()
          .describe('Column rules: `column: { type, min, max, required, unique, values, pii }`.'),
      })
      .strict(),
  ])
  .describe('A named data set: a path (`ratings: data/ratings.csv`) or `{ path | from, schema, description }`.');

const outputsSchema = z
  .union([z.record(z.string(), path), z.array(path)])
  .describe(
    "Command steps: the files the step writes, as `name: path` or a list of paths (named by file name without extension). Built-in steps: the subset of the built-in's outputs the pipeline keeps.",
  );

export const resourcesSchema = z
  .object({
    cpu: z.number().gt(0).optional().describe('CPU cores the step uses (the scheduler runs fewer steps side by side).'),
    gpu: z
      .enum(['none', 'optional', 'required'])
      .optional()
      .describe('GPU need: `required` fails without one, `optional` uses one when present.'),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?$/)
      .optional()
      .describe('Memory the step needs, e.g. `4Gi` or `512MB`.'),
  })
  .strict()
  .describe('Resource hints, used by the local scheduler and kept for export.');

export const gateSchema = z
  .record(
    z.string(),
    z
      .object({
        min: z.number().optional().describe('The metric must be at least this.'),
        max: z.number().optional().describe('The metric must be at most this.'),
      })
      .strict(),
  )
  .describe('Evaluation gates: `metric: { min, max }`; the run fails when a metric is outside its bounds.');

export const stepSchema = z
  .object({
    description: z.string().optional().describe('What the step does.'),
    run: z
      .string()
      .min(1)
      .optional()
      .describe('A shell command (a command step). May use `${params.x}`, `${data.d}`, `${steps.s.outputs.o}`.'),
    uses: z.string().min(1).optional().describe('A built-in step, e.g. `train.mlp` (a built-in step).'),
    with: z.record(z.string(), z.unknown()).optional().describe('Options of the built-in (`uses:`).'),
    outputs: outputsSchema.optional(),
    outs: outputsSchema.optional().describe('DVC spelling of `outputs`.'),
    deps: z
      .array(path)
      .optional()
      .describe('Files the command reads (hashed into the cache key; changes re-run the step).'),
    params: z
      .array(name)
      .optional()
      .describe('Params the command reads (through its own config): their values join the cache key.'),
    metrics: z
      .array(path)
      .optional()
      .describe('JSON metric files the command writes; their numbers are recorded on the run.'),
    env: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Environment variables for the command.'),
    needs: z
      .union([name, z.array(name)])
      .optional()
      .describe('Steps that must finish first (beyond those implied by `${steps...}` references).'),
    resources: resourcesSchema.optional(),
    gate: gateSchema.optional(),
    cache: z
      .boolean()
      .optional()
      .describe('`false`: always run, never restore from the cache (e.g. a step that fetches fresh data).'),
  })
  .strict()
  .describe('A step: `run:` a command, or `uses:` a built-in with `with:` options.');

const driftTest = driftTestSettingSchema;

export const deploySchema = z
  .object({
    model: path.describe('The model to deploy: `${steps.train.outputs.model}` or a model file.'),
    card: path.optional().describe('The model card (Markdown) checked before promotion.'),
    serve: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('Address to bind (loopback unless told otherwise).'),
        port: z.number().int().min(1).max(65535).default(8080).describe('HTTP port.'),
      })
      .strict()
      .optional()
      .describe('`cairn serve` settings.'),
    monitor: z
      .object({
        reference: path.describe('Reference data for drift (usually the training set).'),
        window: z
          .string()
          .regex(/^\d+(s|m|h|d|w)$/)
          .default('1d')
          .describe('Window of logged traffic compared with the reference, e.g. `1h`, `1d`, `7d`.'),
        drift: z
          .record(
            z.string(),
            z.union([
              driftTest,
              z
                .object({
                  test: driftTest.optional().describe('Drift test.'),
                  threshold: z.number().gt(0).optional().describe('Threshold of the test.'),
                })
                .strict(),
            ]),
          )
          .optional()
          .describe('Per-column drift test and threshold; `default` applies to the other columns.'),
        on_drift: z
          .enum(['retrain', 'alert'])
          .optional()
          .describe('`retrain` runs this pipeline again; `alert` only raises an alert.'),
      })
      .strict()
      .optional()
      .describe('Drift monitoring of logged traffic.'),
    ab: z
      .object({
        split: z
          .record(z.string(), z.number().min(0).max(1))
          .describe('Traffic share per alias, e.g. `{ champion: 0.9, challenger: 0.1 }`.'),
        key: z.string().optional().describe('Input column that keeps a user on one arm.'),
        metric: z.string().optional().describe('Metric compared between the arms.'),
      })
      .strict()
      .optional()
      .describe('A/B test between registry aliases.'),
  })
  .strict()
  .describe('Deployment: the model to serve, its card, serving, monitoring and A/B settings.');

export const topLevelShape = {
  version: z.literal(1).describe('Language version; always 1.'),
  name: name.optional().describe('Pipeline name (default: the file name).'),
  description: z.string().optional().describe('What the pipeline does.'),
  params: z
    .record(name, paramSchema)
    .optional()
    .describe('Typed params with defaults, overridable per run (`cairn run -p lr=0.01`).'),
  data: z.record(name, dataEntrySchema).optional().describe('Named data sets, referenced as `${data.name}`.'),
  steps: z.record(name, stepSchema).describe('The steps, by name.'),
  deploy: deploySchema.optional(),
  matrix: matrixSchema.optional(),
  allow_outside: z
    .array(path)
    .optional()
    .describe(
      'Read-only inputs outside the workspace: absolute folders (or files), e.g. `[/mnt/shared/data]`. ' +
        'Steps may read below them (deps, data, built-in inputs); nothing is ever written there. ' +
        'Recorded on each run and marked in lineage.',
    ),
};

export const pipelineSchema = z
  .object(topLevelShape)
  .strict()
  .describe('A Cairn pipeline (cairn.yaml / *.cairn.yaml).');

/** The JSON Schema of the pipeline language (what `cairn schema` prints and schemas/ publishes). */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://cairn.dev/schemas/cairn-pipeline.schema.json',
    title: 'Cairn pipeline',
    ...schema,
  };
}

/** Zod internals we navigate: every schema carries `_zod.def` with a `type` tag. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
  catchall?: z.ZodType;
}

export function defOf(schema: z.ZodType): Def {
  return schema._zod.def;
}

/** A schema with its wrappers (optional/default/nullable) peeled, keeping the description and default found on the way. */
export interface SchemaInfo {
  schema: z.ZodType;
  description?: string;
  defaultValue?: unknown;
  hasDefault: boolean;
  optional: boolean;
}

export function unwrap(schema: z.ZodType): SchemaInfo {
  let s = schema;
  let description = s.description;
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  for (let i = 0; i < 10; i++) {
    const def = defOf(s);
    if (
      (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') &&
      def.innerType
    ) {
      if (def.type === 'optional') optional = true;
      if (def.type === 'default') {
        hasDefault = true;
        defaultValue = def.defaultValue;
      }
      s = def.innerType;
      description ??= s.description;
      continue;
    }
    break;
  }
  return { schema: s, description, defaultValue, hasDefault, optional: optional || hasDefault };
}

/** The schema at a key path (strings for keys, numbers for list items), or undefined when the path leaves it. */
export function schemaAt(root: z.ZodType, path: ReadonlyArray<string | number>): SchemaInfo | undefined {
  let info = unwrap(root);
  for (const key of path) {
    const next = childSchema(info.schema, key);
    if (!next) return undefined;
    info = unwrap(next);
  }
  return info;
}

function childSchema(schema: z.ZodType, key: string | number): z.ZodType | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return typeof key === 'string' ? def.shape?.[key] : undefined;
    case 'record':
      return typeof key === 'string' ? def.valueType : undefined;
    case 'array':
      return typeof key === 'number' ? def.element : undefined;
    case 'union':
      for (const option of def.options ?? []) {
        const child = childSchema(unwrap(option).schema, key);
        if (child) return child;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Keys an object schema (or the object members of a union) allows, with their schemas. */
export function objectKeys(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(unwrap(schema).schema);
  if (def.type === 'object') return def.shape;
  if (def.type === 'union') {
    for (const option of def.options ?? []) {
      const keys = objectKeys(option);
      if (keys) return keys;
    }
  }
  return undefined;
}

/** Plain-words name of what a schema accepts, for messages and completion details. */
export function describeType(schema: z.ZodType): string {
  const def = defOf(unwrap(schema).schema);
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number': {
      const checks =
        (unwrap(schema).schema._zod.def as { checks?: Array<{ _zod: { def: { check?: string; format?: string } } }> })
          .checks ?? [];
      return checks.some((c) => c._zod.def.format === 'safeint' || c._zod.def.check === 'number_format')
        ? 'an integer'
        : 'a number';
    }
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'literal':
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(' or ');
    case 'union':
      return [...new Set((def.options ?? []).map(describeType))].join(' or ');
    case 'unknown':
    case 'any':
      return 'any value';
    default:
      return def.type;
  }
}

/** Allowed values of an enum/literal schema (for did-you-mean and completion). */
export function enumValues(schema: z.ZodType): Array<string | number> | undefined {
  const def = defOf(unwrap(schema).schema);
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  if (def.type === 'literal')
    return (def.values ?? []).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
  if (def.type === 'union') {
    const all = (def.options ?? []).flatMap((o) => enumValues(o) ?? []);
    return all.length > 0 ? all : undefined;
  }
  return undefined;
}
