import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { z } from 'zod';
import { slurmJobsOf } from '@cairn/protocol/config.js';
import type { Journey } from './journeys.js';
import { cairn } from './journeysRecommender.js';
import { userDataDir } from './lib/codeServer.js';
import { logOf, runHistory } from './lib/runtimeLog.js';
import { until } from './lib/wait.js';
import {
  clearNotifications,
  freshEditorArea,
  notification,
  palette,
  waitForWorkbench,
  webview,
  widenSidebar,
  runSucceeded,
} from './lib/workbench.js';
import type { SlurmCluster } from '../lib/slurm.js';

/**
 * Issue 12 in the real workbench. `slurm`: a workspace whose .cairn/config.yaml says `executor: slurm`, on the real
 * single-node cluster of test/lib/slurm.ts; a run from the palette goes through Slurm (its steps queued as jobs, then
 * running, then succeeded) and its Experiments row names its job ids; a second, held run is cancelled from its row and
 * its jobs leave squeue. `sweep`: a `cairn sweep` over two params, then Compare a Sweep… draws the parallel
 * coordinates over them. What the UI shows is checked against the CLI (`cairn runs list`) and squeue.
 */

/** `hold` seconds of waiting in the first step: 0 for the run that succeeds, long for the one that is cancelled. */
const slurmPipeline = `version: 1
name: slurm-demo
params:
  hold: 0
steps:
  prepare:
    run: |
      sleep \${params.hold}
      awk '{ print $1 * 2 }' data.txt > prepared.txt
    deps: [data.txt]
    outputs: { prepared: prepared.txt }
  train:
    run: |
      awk '{ s += $1 } END { print s }' \${steps.prepare.outputs.prepared} > model.txt
      echo "::cairn-metric total=$(cat model.txt)"
    outputs: { model: model.txt }
    resources: { cpu: 1, memory: 64Mi }
`;

/** A shared first step (run once: the other combinations hit its cache) and a score that depends on both params. */
const sweepPipeline = `version: 1
name: sweep-demo
params:
  lr: 0.01
  factors: 16
steps:
  prepare:
    run: awk '{ print $1 * 2 }' data.txt > prepared.txt
    deps: [data.txt]
    outputs: { prepared: prepared.txt }
  train:
    run: |
      awk -v lr=\${params.lr} -v f=\${params.factors} '{ s += $1 } END { print s * lr + f / 100 }' \\
        \${steps.prepare.outputs.prepared} > score.txt
      echo "::cairn-metric score=$(cat score.txt)"
    outputs: { score: score.txt }
`;

/** The swept values: 3 × 2 combinations. */
const sweep = { lr: ['0.001', '0.01', '0.1'], factors: ['16', '32'] };

function writeWorkspace(folder: string, pipeline: string, config?: string): void {
  fs.mkdirSync(path.join(folder, '.cairn'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'data.txt'), '1\n2\n3\n');
  fs.writeFileSync(path.join(folder, 'cairn.yaml'), pipeline);
  if (config) fs.writeFileSync(path.join(folder, '.cairn', 'config.yaml'), config);
}

export function prepareSlurmWorkspace(runDir: string, cluster: SlurmCluster): string {
  const folder = path.join(runDir, 'workspace-slurm');
  writeWorkspace(folder, slurmPipeline, `executor: slurm\nslurm:\n  partition: ${cluster.partition}\n`);
  return folder;
}

/** A workspace with one finished sweep of `sweep`'s combinations, run with the CLI. */
export async function prepareSweepWorkspace(runDir: string): Promise<string> {
  const folder = path.join(runDir, 'workspace-sweep');
  writeWorkspace(folder, sweepPipeline);
  const out = await cairn(folder, [
    'sweep',
    'cairn.yaml',
    '-p',
    `lr=${sweep.lr.join(',')}`,
    '-p',
    `factors=${sweep.factors.join(',')}`,
    '--parallel',
    '2',
  ]);
  assert.ok(out.length > 0, 'cairn sweep printed its table');
  return folder;
}

const runSchema = z.object({
  id: z.number().int(),
  status: z.string(),
  sweepId: z.number().int().nullish(),
  tags: z.record(z.string(), z.string()).optional(),
});

const detailSchema = z.object({ steps: z.array(z.object({ step: z.string(), cacheHit: z.boolean() })) });

async function storedRuns(folder: string): Promise<Array<z.infer<typeof runSchema>>> {
  return z.object({ runs: z.array(runSchema) }).parse(JSON.parse(await cairn(folder, ['runs', 'list']))).runs;
}

function experimentRows(page: Page): Locator {
  return page
    .locator('.pane', { has: page.locator('.pane-header', { hasText: /^Experiments/ }) })
    .locator('.monaco-list-row');
}

async function showExperiments(page: Page): Promise<void> {
  const header = page.locator('.sidebar .pane-header', { hasText: /^Experiments/ });
  if (!(await header.isVisible()))
    await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
  await header.waitFor({ timeout: 15_000 });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
}

/** The jobs of run #id in squeue (`cairn-<id>-<step>` names them): step → state. */
function queued(cluster: SlurmCluster, id: number): Map<string, string> {
  const out = cluster.client('squeue', ['-h', '-o', '%j %T']);
  const jobs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, state] = line.trim().split(/\s+/);
    const prefix = `cairn-${id}-`;
    if (name?.startsWith(prefix) && state) jobs.set(name.slice(prefix.length), state);
  }
  return jobs;
}

/** Job ids of run #id as the store has them (the run's `cairn.slurm_jobs` tag), in step order. */
async function storedJobs(folder: string, id: number): Promise<string[]> {
  const run = (await storedRuns(folder)).find((r) => r.id === id);
  assert.ok(run, `run #${id} is in the store`);
  return Object.values(slurmJobsOf(run.tags));
}

export function slurmJourneys(folder: string, cluster: SlurmCluster): Journey[] {
  const userData = userDataDir(path.dirname(folder));
  return [
    {
      name: 'slurm: Run Pipeline from the palette runs steps as Slurm jobs; Experiments shows succeeded and job ids',
      async run(page, shot) {
        await waitForWorkbench(page);
        await showExperiments(page);
        await widenSidebar(page, 520);
        await palette(page, 'Cairn: Run Pipeline');
        const done = experimentRows(page)
          .filter({ hasText: /^#1 (succeeded|failed|cancelled|interrupted)/ })
          .first();
        await done.waitFor({ timeout: 120_000 });
        assert.match(await done.innerText(), /^#1 succeeded/, 'run #1 on Slurm succeeded');
        await runSucceeded(page, 1);
        await clearNotifications(page);
        // Live: the run went running → succeeded, and each step was first queued as a Slurm job (the log keeps it).
        const states = await runHistory(userData, folder, 1);
        assert.deepEqual([states[0], states.at(-1)], ['running', 'succeeded'], `run #1 went ${states.join(' → ')}`);
        const log = logOf(userData, folder) ?? '';
        for (const step of ['prepare', 'train']) {
          assert.match(
            log,
            new RegExp(`run #1 slurm-demo › ${step}: pending \\(queued: Slurm job \\d+`),
            `${step} was queued on Slurm`,
          );
        }
        const jobs = await storedJobs(folder, 1);
        assert.equal(jobs.length, 2, `one job per step: ${jobs.join(',')}`);
        await experimentRows(page)
          .filter({ hasText: new RegExp(`^#1 succeeded.*jobs ${jobs.join(',')}`) })
          .first()
          .waitFor({ timeout: 30_000 });
        await shot('s01-slurm-run-succeeded');
      },
    },
    {
      name: 'slurm: a held run is cancelled from its Experiments row; its Slurm jobs are scancelled',
      async run(page, shot) {
        await showExperiments(page);
        await palette(page, 'Cairn: Run Pipeline with Params…', /with params/);
        await page.locator('.quick-input-widget input').fill('hold=600');
        await page.keyboard.press('Enter');
        // Both steps are in squeue (prepare running its hold, train waiting on it), and the row says running.
        const jobs = await until(
          () => {
            const q = queued(cluster, 2);
            return q.get('prepare') === 'RUNNING' && q.has('train') ? q : undefined;
          },
          () => `run #2's jobs in squeue: ${[...queued(cluster, 2)].join(' ')}`,
          60_000,
        );
        assert.equal(jobs.get('train'), 'PENDING', 'train waits on prepare (afterok dependency)');
        // The running row shows each job with its Slurm state, as squeue has them.
        const row = experimentRows(page)
          .filter({ hasText: /^#2 running.*jobs \d+ RUNNING,\d+ PENDING/ })
          .first();
        await row.waitFor({ timeout: 30_000 });
        await shot('s02-slurm-run-held');
        await row.hover();
        await row.locator('.action-label[aria-label="Cancel Run"]').click();
        await notification(page, 'Cairn: cancelling run #2.');
        await clearNotifications(page);
        const done = experimentRows(page)
          .filter({ hasText: /^#2 (succeeded|failed|cancelled|interrupted)/ })
          .first();
        await done.waitFor({ timeout: 60_000 });
        assert.match(await done.innerText(), /^#2 cancelled/, 'run #2 was cancelled');
        await until(
          () => (queued(cluster, 2).size === 0 ? true : undefined),
          () => `run #2's jobs left squeue: ${[...queued(cluster, 2)].join(' ')}`,
          30_000,
        );
        const ids = await storedJobs(folder, 2);
        assert.equal(ids.length, 2, `both steps were submitted: ${ids.join(',')}`);
        await experimentRows(page)
          .filter({ hasText: new RegExp(`^#2 cancelled.*jobs ${ids.join(',')}`) })
          .first()
          .waitFor({ timeout: 30_000 });
        await shot('s02-slurm-run-cancelled');
      },
    },
  ];
}

export function sweepJourneys(folder: string): Journey[] {
  return [
    {
      name: 'sweep: Compare a Sweep… opens the compare view on the sweep; parallel coordinates over the swept params',
      async run(page, shot) {
        await waitForWorkbench(page);
        const runs = (await storedRuns(folder)).filter((r) => r.sweepId !== undefined && r.sweepId !== null);
        const combinations = sweep.lr.length * sweep.factors.length;
        assert.equal(
          runs.length,
          combinations,
          `the sweep ran every combination: ${runs.map((r) => `#${r.id}`).join(' ')}`,
        );
        assert.ok(
          runs.every((r) => r.status === 'succeeded'),
          `every run of the sweep succeeded: ${runs.map((r) => r.status).join(' ')}`,
        );
        // The shared first step ran once; the other combinations restored it from the cache.
        const computed: number[] = [];
        for (const r of runs) {
          const detail = detailSchema.parse(JSON.parse(await cairn(folder, ['runs', 'show', String(r.id)])));
          if (detail.steps.some((st) => st.step === 'prepare' && !st.cacheHit)) computed.push(r.id);
        }
        assert.equal(
          computed.length,
          1,
          `prepare was computed by one run of the sweep: ${computed.map((id) => `#${id}`).join(' ')}`,
        );
        await showExperiments(page);
        await widenSidebar(page, 420);
        await experimentRows(page)
          .filter({ hasText: /^sweep \d+/ })
          .first()
          .waitFor({ timeout: 30_000 });
        await freshEditorArea(page, true);
        await palette(page, 'Cairn: Compare a Sweep…', /compare which sweep/);
        const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: /^sweep \d+/ }).first();
        await pick.waitFor({ timeout: 15_000 });
        assert.match(await pick.innerText(), /lr, factors|factors, lr/, 'the pick names the swept params');
        await pick.click();
        await page
          .locator('.tabs-container .tab.active', { hasText: `Compare ${combinations} runs` })
          .waitFor({ timeout: 20_000 });
        // The chart is a canvas: its label says which runs and axes it drew.
        const chart = webview(page).locator(
          `.panel.parallel .plot[aria-label^="Parallel coordinates of ${combinations} runs over "]`,
        );
        await chart.waitFor({ timeout: 30_000 });
        const label = (await chart.getAttribute('aria-label')) ?? '';
        for (const axis of ['lr', 'factors', 'score'])
          assert.match(label, new RegExp(`\\b${axis}\\b`), `an axis for ${axis}: ${label}`);
        await shot('w01-sweep-parallel-coordinates');
      },
    },
  ];
}
