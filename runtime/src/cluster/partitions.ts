import { execFileSync } from 'node:child_process';
import { makeDiagnostic, mapGet, PipelineCode, type CairnDiagnostic, type PipelineDocument } from '@cairn/protocol';
import { z } from 'zod';

/**
 * `cairn validate` with `executor: slurm`: each step's `resources:` against what the cluster's partitions offer
 * (`sinfo -h -o "%P %c %m %G"`: name, CPUs per node, memory per node in MB, generic resources).
 */

export interface Partition {
  name: string;
  cpus: number;
  memoryMb: number;
  gpus: number;
}

/** One partition per line; `*` marks the default partition; gres like `gpu:2`, `gpu:a100:4(S:0)` or `(null)`. */
export function parseSinfo(text: string): Partition[] {
  const out: Partition[] = [];
  for (const line of text.split('\n')) {
    const [name, cpus, memory, gres] = line.trim().split(/\s+/);
    if (!name || cpus === undefined || memory === undefined) continue;
    const gpu = /gpu(?::[^:,(]+)?:(\d+)/.exec(gres ?? '');
    out.push({
      name: name.replace(/\*$/, ''),
      cpus: Number.parseInt(cpus, 10) || 0,
      memoryMb: Number.parseInt(memory, 10) || 0,
      gpus: gpu ? Number(gpu[1]) : 0,
    });
  }
  return out;
}

/** `4Gi`, `512MB`, `2G`, `1024` (bytes) → MB, as Slurm counts (1 MB = 1024 KiB). */
export function memoryMb(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/.exec(text.trim());
  if (!m) return undefined;
  const scale: Record<string, number> = { '': 1 / (1024 * 1024), K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
  return Number(m[1]) * (scale[m[2] ?? ''] ?? 1);
}

const resourcesValue = z.object({
  cpu: z.number().optional(),
  gpu: z.string().optional(),
  memory: z.string().optional(),
});

/** A finding on each step whose `resources:` no partition (or not the configured `slurm.partition`) can give. */
export function resourceFindings(doc: PipelineDocument, partitions: Partition[], only?: string): CairnDiagnostic[] {
  const pool = only === undefined ? partitions : partitions.filter((p) => p.name === only);
  const offer = pool.map((p) => `${p.name}: ${p.cpus} cpu, ${p.memoryMb} MB, ${p.gpus} gpu`).join('; ') || 'none';
  const out: CairnDiagnostic[] = [];
  for (const step of doc.symbols.steps.values()) {
    const entry = mapGet(step.entry.value, 'resources');
    if (!entry) continue;
    const parsed = resourcesValue.safeParse(doc.value && stepResources(doc.value, step.name));
    if (!parsed.success) continue;
    const want = parsed.data;
    const mem = want.memory === undefined ? 0 : (memoryMb(want.memory) ?? 0);
    const gpus = want.gpu === 'required' ? 1 : 0;
    const fits = pool.some((p) => (want.cpu ?? 1) <= p.cpus && mem <= p.memoryMb && gpus <= p.gpus);
    if (fits) continue;
    const asked = [
      want.cpu === undefined ? '' : `${want.cpu} cpu`,
      want.memory === undefined ? '' : `${want.memory} memory`,
      gpus ? 'a gpu' : '',
    ].filter(Boolean);
    const where = only === undefined ? 'no partition of the Slurm cluster' : `partition '${only}' (slurm.partition)`;
    const message =
      `Step '${step.name}' asks for ${asked.join(', ')}, which ${where} can give (${offer}): ` +
      'lower the request, or set slurm.partition in .cairn/config.yaml to a partition that has it.';
    out.push(makeDiagnostic(PipelineCode.unsatisfiableResources, message, entry.keySpan));
  }
  return out;
}

function stepResources(value: unknown, step: string): unknown {
  const steps = (value as { steps?: Record<string, { resources?: unknown }> }).steps;
  return steps?.[step]?.resources;
}

/** The cluster's partitions, or why `sinfo` gave none (not installed, controller down). */
export function querySinfo(): { ok: true; partitions: Partition[] } | { ok: false; reason: string } {
  try {
    const text = execFileSync('sinfo', ['-h', '-o', '%P %c %m %G'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: 'pipe',
    });
    return { ok: true, partitions: parseSinfo(text) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const reason = e.code === 'ENOENT' ? 'sinfo is not installed' : (e.stderr?.trim() || e.message).split('\n')[0];
    return { ok: false, reason: reason ?? 'sinfo failed' };
  }
}

/** The check `cairn validate` adds for a pipeline when the workspace's executor is slurm. */
export function clusterFindings(
  doc: PipelineDocument,
  only: string | undefined,
  query: typeof querySinfo = querySinfo,
): CairnDiagnostic[] {
  const first = [...doc.symbols.steps.values()].map((s) => mapGet(s.entry.value, 'resources')).find((e) => e);
  if (!first) return [];
  const result = query();
  if (!result.ok) {
    const message =
      `executor: slurm, but the cluster is unreachable (${result.reason}): resource requests were not checked ` +
      'against its partitions; start slurmctld or check `sinfo`.';
    return [makeDiagnostic(PipelineCode.clusterUnreachable, message, first.keySpan)];
  }
  return resourceFindings(doc, result.partitions, only);
}
