import type { RunDetail } from '@cairn/protocol';
import { formatDuration, formatMetric } from '../views/format.js';

/**
 * A run's details as Markdown ("Show Run", and a run opened from the compare or lineage view). Pure (unit-tested);
 * cell text is escaped so a param value cannot break the table.
 */
function cell(value: unknown): string {
  const text =
    value === null || value === undefined
      ? '—'
      : typeof value === 'number'
        ? formatMetric(value)
        : typeof value === 'string'
          ? value
          : JSON.stringify(value);
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function runDetailMarkdown(run: RunDetail): string {
  const lines = [
    `# Run #${run.id} — ${cell(run.pipeline)} — ${run.status}`,
    '',
    `- pipeline file: \`${run.pipelineFile}\``,
    `- started: ${new Date(run.startedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC${run.durationMs !== null ? `, took ${formatDuration(run.durationMs)}` : ''}`,
    `- git: ${run.gitCommit ? `${run.gitCommit.slice(0, 12)}${run.gitDirty ? ' (dirty)' : ''}` : 'not a git repository'}`,
    `- platform: ${cell(run.platform)}, cairn ${cell(run.cairnVersion)}${run.backend ? `, backend ${cell(run.backend)}` : ''}`,
  ];
  if (run.error) lines.push(`- error: ${cell(run.error)}`);
  const params = Object.entries(run.paramDetails);
  lines.push('', `## Params (${params.length})`, '');
  if (params.length > 0) {
    lines.push('| param | value | type | |', '|---|---|---|---|');
    for (const [k, p] of params)
      lines.push(
        `| ${cell(k)} | ${p.secret ? '\\*\\*\\*' : cell(p.value)} | ${p.type} | ${p.overridden ? 'overridden' : 'default'} |`,
      );
  }
  const metrics = Object.entries(run.metrics);
  lines.push('', `## Metrics (${metrics.length})`, '');
  if (metrics.length > 0) {
    lines.push('| metric | latest |', '|---|---|');
    for (const [k, v] of metrics) lines.push(`| ${cell(k)} | ${cell(v)} |`);
  }
  lines.push('', `## Steps (${run.steps.length})`, '', '| step | status | time | log |', '|---|---|---|---|');
  for (const s of run.steps)
    lines.push(
      `| ${cell(s.step)} | ${s.status}${s.cacheHit ? ' (cached)' : ''}${s.error ? `: ${cell(s.error)}` : ''} | ${formatDuration(s.durationMs)} | ${s.log ? `\`${s.log}\`` : ''} |`,
    );
  return lines.join('\n') + '\n';
}

/** The step of a lineage step node, whose label is `<step> (run <id>[, cached])` (runtime/src/lineage/lineage.ts). */
export function stepNameOfLabel(label: string): string | undefined {
  return /^(.+?) \(run \d+/.exec(label)?.[1];
}
