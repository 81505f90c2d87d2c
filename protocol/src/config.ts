import { z } from 'zod';

/**
 * The workspace configuration, `.cairn/config.yaml`: where this workspace keeps its tracking store and its shared
 * artifact remote, and which executor runs its pipelines. One definition, read by the runtime (CLI and JSON-RPC) and
 * described to the editor. Every setting can also come from a flag or an environment variable; the order is
 * flag > environment > this file > default (runtime/src/config/workspace.ts).
 */
export const workspaceConfigFile = '.cairn/config.yaml';

export const executorNames = ['local', 'slurm'] as const;
export type ExecutorName = (typeof executorNames)[number];

export const workspaceConfigSchema = z
  .object({
    store: z
      .object({
        url: z
          .string()
          .min(1)
          .describe(
            "Tracking store: `postgres://user@host:5432/db` (password from PGPASSWORD, ~/.pgpass or the editor's secret storage, never this file) or a SQLite file path. Default: `.cairn/cairn.db`.",
          ),
      })
      .strict()
      .optional()
      .describe('Where runs, metrics, lineage and the registry are tracked.'),
    remote: z
      .object({
        url: z
          .string()
          .min(1)
          .describe('Shared artifact remote: a directory on a shared filesystem (`/mnt/team/cairn` or `file:///…`).'),
        push: z
          .enum(['auto', 'off'])
          .optional()
          .describe(
            '`auto` (default): each step that runs pushes its outputs and cache entry; `off`: only `cairn push`.',
          ),
      })
      .strict()
      .optional()
      .describe('The shared artifact remote that `cairn push` / `cairn pull` and cache hits use (docs/team.md).'),
    executor: z
      .enum(executorNames)
      .optional()
      .describe('Where steps run: `local` child processes (default) or `slurm` jobs.'),
    slurm: z
      .object({
        partition: z.string().min(1).optional().describe('Slurm partition (`--partition`).'),
        account: z.string().min(1).optional().describe('Slurm account (`--account`).'),
        qos: z.string().min(1).optional().describe('Slurm QOS (`--qos`).'),
        time: z
          .string()
          .regex(/^(\d+-)?\d+(:\d{2}){0,2}$/)
          .optional()
          .describe('Default time limit per job, Slurm syntax (`30`, `1:00:00`, `2-00:00:00`).'),
        extra_args: z.array(z.string()).optional().describe('More `sbatch` options, passed as written.'),
      })
      .strict()
      .optional()
      .describe('Defaults of the jobs `executor: slurm` submits (docs/cluster.md).'),
    export: z
      .object({
        image: z.string().min(1).optional().describe('Container image that has Cairn installed (Argo export).'),
      })
      .strict()
      .optional()
      .describe('Settings of `cairn export` (Argo Workflows).'),
  })
  .strict();

export type WorkspaceConfig = z.infer<typeof workspaceConfigSchema>;

/** One key of the configuration, read from the schema (the editor's completion and hover, the docs' key table). */
export interface WorkspaceConfigKey {
  /** Dotted path from the root: `store.url`. */
  readonly path: string;
  readonly description: string;
  readonly type: 'section' | 'string' | 'list of strings' | 'choice';
  /** The allowed values of a `choice`. */
  readonly values?: readonly string[];
}

function describedKeys(schema: z.ZodType, prefix: string, out: WorkspaceConfigKey[]): void {
  if (!(schema instanceof z.ZodObject)) return;
  // zod's generic shape is loosely typed: each field is checked to be a schema before it is read.
  for (const [name, field] of Object.entries<unknown>(schema.shape)) {
    if (!(field instanceof z.ZodType)) continue;
    const unwrapped: unknown = field instanceof z.ZodOptional ? field.unwrap() : field;
    const inner = unwrapped instanceof z.ZodType ? unwrapped : field;
    const path = prefix ? `${prefix}.${name}` : name;
    const description = field.description ?? inner.description ?? '';
    if (inner instanceof z.ZodObject) {
      out.push({ path, description, type: 'section' });
      describedKeys(inner, path, out);
    } else if (inner instanceof z.ZodEnum) {
      const options: unknown = inner.options;
      const values = Array.isArray(options) ? options.map((v: unknown) => String(v)) : [];
      out.push({ path, description, type: 'choice', values });
    } else {
      out.push({ path, description, type: inner instanceof z.ZodArray ? 'list of strings' : 'string' });
    }
  }
}

/** Every key of `.cairn/config.yaml`, parents before their children, in the schema's order. */
export const workspaceConfigKeys: readonly WorkspaceConfigKey[] = (() => {
  const out: WorkspaceConfigKey[] = [];
  describedKeys(workspaceConfigSchema, '', out);
  return out;
})();

/** The key table of the docs (docs/team.md), generated from the descriptions above so that the two cannot differ. */
export function workspaceConfigKeyTable(): string {
  const rows = workspaceConfigKeys.map(
    (k) =>
      `| \`${k.path}\` | ${k.type === 'choice' ? (k.values ?? []).map((v) => `\`${v}\``).join(' \\| ') : k.type} | ${k.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| Key | Value | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** A `postgres://` or `postgresql://` URL (anything else without a scheme is a SQLite file path). */
export const postgresUrlPattern = /^postgres(ql)?:\/\//i;

/** What a `store.url` value is: a PostgreSQL URL (`password`: one is written in it), a file path, or unusable. */
export type StoreUrlKind =
  | { kind: 'postgres'; password: boolean }
  | { kind: 'path' }
  | { kind: 'bad-url' }
  | { kind: 'unsupported-scheme'; scheme: string };

/** Classifies a store setting the way the runtime opens it (runtime/src/store/open.ts). */
export function storeUrlKind(value: string): StoreUrlKind {
  if (postgresUrlPattern.test(value)) {
    try {
      return { kind: 'postgres', password: new URL(value).password !== '' };
    } catch {
      return { kind: 'bad-url' };
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  return scheme === undefined ? { kind: 'path' } : { kind: 'unsupported-scheme', scheme };
}

/** Run tag of a Slurm run: its job id per step, `{"train":"42",…}` (set by the executor, shown by the editor). */
export const slurmJobsTag = 'cairn.slurm_jobs';

/** Run tag of a Slurm run: the last Slurm state seen per step, `{"train":"RUNNING",…}` (kept up to date while it runs). */
export const slurmStatesTag = 'cairn.slurm_states';

const slurmJobsSchema = z.record(z.string(), z.string());

function stepMapOf(tags: Readonly<Record<string, string>> | undefined, tag: string): Record<string, string> {
  const raw = tags?.[tag];
  if (raw === undefined) return {};
  try {
    const parsed = slurmJobsSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** The job ids of a run's tags, in step order as submitted; empty when the run did not run on Slurm. */
export function slurmJobsOf(tags: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return stepMapOf(tags, slurmJobsTag);
}

/** The Slurm state last seen per step (PENDING, RUNNING, COMPLETED…); empty when the run did not run on Slurm. */
export function slurmStatesOf(tags: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return stepMapOf(tags, slurmStatesTag);
}

/** A step's job and state: a Slurm progress event applied to a run's tags (the editor's copy of the run). */
export function withSlurmJob(
  tags: Readonly<Record<string, string>>,
  step: string,
  job: { id: string; state: string },
): Record<string, string> {
  return {
    ...tags,
    [slurmJobsTag]: JSON.stringify({ ...slurmJobsOf(tags), [step]: job.id }),
    [slurmStatesTag]: JSON.stringify({ ...slurmStatesOf(tags), [step]: job.state }),
  };
}
