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
      .optional(),
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
      .optional(),
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
      .optional(),
    export: z
      .object({
        image: z.string().min(1).optional().describe('Container image that has Cairn installed (Argo export).'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type WorkspaceConfig = z.infer<typeof workspaceConfigSchema>;

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
