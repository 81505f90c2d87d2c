import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { explainedRunTag } from '@cairn/protocol';
import {
  formatAge,
  formatDuration,
  formatMetric,
  keyMetric,
  lastResultText,
  progressLogLine,
  runContextValue,
  runDescription,
  slurmJobsText,
} from '../../../extension/src/views/format.js';

interface Manifest {
  contributes: { menus: Record<string, Array<{ command: string; when?: string }>> };
}

test('ages read like people say them', () => {
  const now = 1_000_000_000;
  assert.equal(formatAge(now, now), 'just now');
  assert.equal(formatAge(now + 60_000, now), 'just now');
  assert.equal(formatAge(now - 42_000, now), '42s ago');
  assert.equal(formatAge(now - 5 * 60_000, now), '5m ago');
  assert.equal(formatAge(now - 3 * 3600_000, now), '3h ago');
  assert.equal(formatAge(now - 3 * 86400_000, now), '3d ago');
});

test('durations pick a unit', () => {
  assert.equal(formatDuration(null), '');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(12_345), '12.3 s');
  assert.equal(formatDuration(245_000), '4m 05s');
  assert.equal(formatDuration(7_380_000), '2h 03m');
  assert.equal(formatDuration(Number.NaN), '');
});

test('metrics keep 4 significant digits and never show NaN as a number', () => {
  assert.equal(formatMetric(0.912345), '0.9123');
  assert.equal(formatMetric(12), '12');
  assert.equal(formatMetric(1234.5678), '1235');
  assert.equal(formatMetric(0.00001234), '1.234e-5');
  assert.equal(formatMetric(Number.NaN), 'n/a');
  assert.equal(formatMetric(Number.POSITIVE_INFINITY), '∞');
});

test('the key metric prefers well-known names, then the first key', () => {
  assert.deepEqual(keyMetric({ loss: 0.3, accuracy: 0.9 }), { key: 'accuracy', value: 0.9 });
  assert.deepEqual(keyMetric({ 'eval/ndcg@10': 0.31, loss: 1 }), { key: 'eval/ndcg@10', value: 0.31 });
  assert.deepEqual(keyMetric({ zeta: 1, alpha: 2 }), { key: 'alpha', value: 2 });
  assert.equal(keyMetric({}), undefined);
});

test('run descriptions and last results put status, age and the key metric together', () => {
  const now = 10_000_000;
  assert.equal(
    runDescription(
      { startedAt: now - 300_000, durationMs: 12_300, metrics: { rmse: 0.91234 }, status: 'succeeded' },
      now,
    ),
    '5m ago · 12.3 s · rmse 0.9123',
  );
  assert.equal(
    runDescription({ startedAt: now - 1000, durationMs: null, metrics: {}, status: 'running' }, now),
    'just now',
  );
  const tags = { 'cairn.slurm_jobs': '{"train":"41","report":"42"}' };
  assert.equal(
    runDescription({ startedAt: now - 1000, durationMs: null, metrics: {}, status: 'running', tags }, now),
    'just now · jobs 41,42',
  );
  // A teammate's run (a shared store) says whose it is; this workspace's own runs stay unmarked.
  const ana = { startedAt: now - 300_000, durationMs: 12_300, metrics: { f1: 0.5 }, status: 'succeeded' as const };
  assert.equal(
    runDescription({ ...ana, user: 'ana@team.example' }, now, undefined, 'bo@team.example'),
    '5m ago · 12.3 s · by ana@team.example · f1 0.5',
  );
  assert.equal(
    runDescription({ ...ana, user: 'ana@team.example' }, now, undefined, 'ana@team.example'),
    '5m ago · 12.3 s · f1 0.5',
  );
  assert.equal(runDescription({ ...ana, user: null }, now, undefined, 'bo@team.example'), '5m ago · 12.3 s · f1 0.5');
  assert.equal(slurmJobsText(tags), 'Slurm jobs: train 41, report 42');
  // While it runs, each job's Slurm state; once ended, the ids alone in the description, the states in the tooltip.
  const live = { ...tags, 'cairn.slurm_states': '{"train":"RUNNING","report":"PENDING"}' };
  assert.equal(
    runDescription({ startedAt: now - 1000, durationMs: null, metrics: {}, status: 'running', tags: live }, now),
    'just now · jobs 41 RUNNING,42 PENDING',
  );
  assert.equal(
    runDescription({ startedAt: now - 1000, durationMs: 900, metrics: {}, status: 'succeeded', tags: live }, now),
    'just now · 900 ms · jobs 41,42',
  );
  assert.equal(slurmJobsText(live), 'Slurm jobs: train 41 (RUNNING), report 42 (PENDING)');
  assert.equal(slurmJobsText({ 'cairn.slurm_jobs': 'not json' }), undefined);
  assert.equal(
    lastResultText({ status: 'succeeded', at: now - 120_000, metrics: { f1: 0.5 } }, now),
    '✓ succeeded 2m ago · f1 0.5',
  );
  assert.equal(lastResultText({ status: 'failed', at: null }, now), '✗ failed');
});

test('each status change the runtime reports is one log line: the run, or its step, and why', () => {
  assert.equal(
    progressLogLine({ runId: 12, pipeline: 'recommender', status: 'running' }),
    'run #12 recommender: running',
  );
  assert.equal(
    progressLogLine({ runId: 12, pipeline: 'recommender', status: 'succeeded', durationMs: 527 }),
    'run #12 recommender: succeeded (527 ms)',
  );
  assert.equal(
    progressLogLine({
      runId: 12,
      pipeline: 'recommender',
      step: 'train',
      status: 'succeeded',
      cacheHit: true,
      message: 'restored from cache',
      durationMs: 12_345,
    }),
    'run #12 recommender › train: succeeded (restored from cache, 12.3 s)',
  );
  assert.equal(
    progressLogLine({ runId: 3, pipeline: 'p', step: 'a', status: 'failed', message: 'exit code 2' }),
    'run #3 p › a: failed (exit code 2)',
  );
});

test('a run offers its explanations only when a step recorded some, and only once it is not running', () => {
  assert.equal(runContextValue({ status: 'succeeded', tags: {} }), 'cairn.run');
  assert.equal(runContextValue({ status: 'succeeded', tags: { [explainedRunTag]: 'true' } }), 'cairn.run.explained');
  assert.equal(runContextValue({ status: 'failed', tags: { [explainedRunTag]: 'true' } }), 'cairn.run.explained');
  assert.equal(runContextValue({ status: 'running', tags: { [explainedRunTag]: 'true' } }), 'cairn.run.running');
  // The menus of package.json: "Open Explanation" on explained runs, "Delete" on every finished run.
  const menus =
    (JSON.parse(readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as Manifest).contributes.menus[
      'view/item/context'
    ] ?? [];
  const when = (command: string) => menus.find((m) => m.command === command)?.when ?? '';
  const offered = (command: string, viewItem: string) => {
    const m = /viewItem (==|=~) (\S+)/.exec(when(command));
    if (!m) return false;
    return m[1] === '==' ? m[2] === viewItem : new RegExp(m[2]!.slice(1, -1)).test(viewItem);
  };
  assert.deepEqual(
    ['cairn.run', 'cairn.run.explained', 'cairn.run.running'].map((v) => offered('cairn.openExplanation', v)),
    [false, true, false],
  );
  assert.deepEqual(
    ['cairn.run', 'cairn.run.explained', 'cairn.run.running'].map((v) => offered('cairn.deleteRun', v)),
    [true, true, false],
  );
});
