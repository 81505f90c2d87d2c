import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { z } from 'zod';
import type { Journey } from './journeys.js';
import { prepareDeployWorkspace } from './journeysDeploy.js';
import { cairn } from './journeysRecommender.js';
import { userDataDir } from './lib/codeServer.js';
import { logOf, runHistory } from './lib/runtimeLog.js';
import {
  clearNotifications,
  editorText,
  escapeRegExp,
  freshEditorArea,
  palette,
  runSucceeded,
  waitForWorkbench,
  webview,
  widenSidebar,
} from './lib/workbench.js';
import type { PgCluster } from '../lib/postgres.js';

/**
 * Issue 11 in the real workbench: two teammates, alice and bob, each with a clone of the quick credit sample whose
 * .cairn/config.yaml points at one throwaway PostgreSQL store (test/lib/postgres.ts) and one shared filesystem remote.
 * Who ran a run is the workspace's `git config user.email`. Alice runs the pipeline in her window; bob, in a second
 * window on the same code-server, sees her run (marked with her name) and her registered model, hides it with "mine",
 * opens its lineage; then runs the same pipeline himself, and every step is restored from the remote she pushed to
 * (his step log says "restored from remote …, run by alice@…"), and compares the two runs. The UI is checked against
 * the CLI (`cairn runs list`, `runs show`, `lineage`) run in bob's folder: one store, seen from the other clone.
 */

export type Member = 'alice' | 'bob';
/** A journey in one teammate's window. */
export interface TeamJourney extends Journey {
  who: Member;
}

export const teamUsers: Record<Member, string> = { alice: 'alice@team.example', bob: 'bob@team.example' };

/**
 * The libpq password file of the team part's store (PGPASSFILE of code-server, hence of the runtimes it starts, and of
 * the CLI calls here): the password stays out of the workspace config, as docs/team.md tells users.
 */
export function teamPgpass(runDir: string): string {
  return path.join(runDir, 'pgpass');
}

export interface Team {
  runDir: string;
  folders: Record<Member, string>;
  /** The CLI's environment on the team store. */
  env: Record<string, string>;
}

/** Two clones of the quick credit sample on one new database of `cluster` and one remote folder. */
export async function prepareTeam(runDir: string, cluster: PgCluster): Promise<Team> {
  const url = new URL(await cluster.createDatabase('team'));
  url.password = '';
  const pgpass = teamPgpass(runDir);
  fs.writeFileSync(pgpass, `127.0.0.1:${cluster.port}:*:${cluster.user}:${cluster.password}\n`, { mode: 0o600 });
  const remote = path.join(runDir, 'team-remote');
  const folders = { alice: path.join(runDir, 'workspace-alice'), bob: path.join(runDir, 'workspace-bob') };
  for (const member of ['alice', 'bob'] as const) {
    const folder = folders[member];
    prepareDeployWorkspace(folder);
    fs.mkdirSync(path.join(folder, '.cairn'), { recursive: true });
    fs.writeFileSync(
      path.join(folder, '.cairn', 'config.yaml'),
      `store:\n  url: ${url.toString()}\nremote:\n  url: ${remote}\n`,
    );
    const git = (args: string[]): void => void execFileSync('git', args, { cwd: folder, stdio: 'ignore' });
    git(['-c', 'init.defaultBranch=main', 'init', '-q']);
    git(['config', 'user.email', teamUsers[member]]);
  }
  return { runDir, folders, env: { PGPASSFILE: pgpass } };
}

const runSchema = z.object({
  id: z.number().int(),
  status: z.string(),
  user: z.string().nullish(),
  tags: z.record(z.string(), z.string()),
});
const detailSchema = runSchema.extend({
  steps: z.array(z.object({ step: z.string(), cacheHit: z.boolean(), outputs: z.array(z.unknown()) })),
});

async function storedRuns(team: Team): Promise<Array<z.infer<typeof runSchema>>> {
  const out = await cairn(team.folders.bob, ['runs', 'list'], team.env);
  return z.object({ runs: z.array(runSchema) }).parse(JSON.parse(out)).runs;
}

async function nextRunId(team: Team): Promise<number> {
  return Math.max(0, ...(await storedRuns(team)).map((r) => r.id)) + 1;
}

function pane(page: Page, name: string): Locator {
  return page.locator('.pane', { has: page.locator('.pane-header', { hasText: new RegExp(`^${name}`) }) });
}

function experimentRows(page: Page): Locator {
  return pane(page, 'Experiments').locator('.monaco-list-row');
}

/** Opens the Cairn container (unless open) and expands `view` (Experiments, Models). */
async function showView(page: Page, view: string): Promise<Locator> {
  const header = page.locator('.sidebar .pane-header', { hasText: new RegExp(`^${view}`) });
  if (!(await header.isVisible()))
    await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
  await header.waitFor({ timeout: 15_000 });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return pane(page, view).locator('.monaco-list-row');
}

/**
 * Run Pipeline from the palette in one teammate's window; waits for its outcome notification (the first run of a
 * window also starts its runtime; a run that did not succeed fails at once with the notification's text), the run's
 * row showing it succeeded, and its state history in that window's runtime log.
 */
async function runPipeline(page: Page, team: Team, who: Member): Promise<{ id: number; text: string }> {
  await showView(page, 'Experiments');
  const id = await nextRunId(team);
  await palette(page, 'Cairn: Run Pipeline');
  await runSucceeded(page, id, 180_000);
  await clearNotifications(page);
  const done = experimentRows(page)
    .filter({ hasText: new RegExp(`^#${id} (succeeded|failed|cancelled|interrupted)`) })
    .first();
  await done.waitFor({ timeout: 30_000 });
  const text = await done.innerText();
  assert.match(text, new RegExp(`^#${id} succeeded`), `${who}'s run #${id} did not succeed: ${text}`);
  const states = await runHistory(userDataDir(team.runDir), team.folders[who], id);
  assert.deepEqual([states[0], states.at(-1)], ['running', 'succeeded'], `run #${id} went ${states.join(' → ')}`);
  return { id, text };
}

/** Alice's run (journey 1), for the journeys after it. */
const shared: { aliceRun?: number } = {};

function aliceRun(): number {
  assert.ok(shared.aliceRun !== undefined, "alice's run exists (the first journey)");
  return shared.aliceRun;
}

export function teamJourneys(team: Team): TeamJourney[] {
  const alice = escapeRegExp(teamUsers.alice);
  return [
    {
      who: 'alice',
      name: 'team: alice runs the pipeline from the palette on the shared store; her Experiments shows it as hers',
      async run(page, shot) {
        await waitForWorkbench(page);
        await showView(page, 'Experiments');
        await widenSidebar(page, 560);
        const { id, text } = await runPipeline(page, team, 'alice');
        shared.aliceRun = id;
        // Her own run is not marked with a name; the store (read from bob's clone) has her as its user.
        assert.doesNotMatch(text, /\bby \S+@/, `her own run carries no "by": ${text}`);
        const stored = (await storedRuns(team)).find((r) => r.id === id);
        assert.equal(stored?.user, teamUsers.alice, `run #${id} is recorded as alice's in the shared store`);
        await shot('t01-alice-run-succeeded');
      },
    },
    {
      who: 'bob',
      name: "team: bob's window shows alice's run with her name and her registered model; mine hides it; its lineage opens",
      async run(page, shot) {
        const id = aliceRun();
        await waitForWorkbench(page);
        await showView(page, 'Experiments');
        await widenSidebar(page, 560);
        // Bob's window opened while alice ran: her run reaches his view on its own (no refresh; the runtime watches
        // the store for other processes' runs), whether it started before or after his view loaded.
        const row = experimentRows(page)
          .filter({ hasText: new RegExp(`^#${id} succeeded.*\\bby ${alice}\\b`) })
          .first();
        await row.waitFor({ timeout: 60_000 });
        await palette(page, 'Cairn: Refresh Models');
        const models = await showView(page, 'Models');
        await models
          .filter({ hasText: /credit-risk/ })
          .first()
          .waitFor({ timeout: 30_000 });
        await models.filter({ hasText: /^v1/ }).first().waitFor({ timeout: 15_000 });
        await shot('t02-bob-sees-alice-run');

        // Mine: only bob's runs, and he has none yet; back to all, alice's run is listed again.
        await palette(page, 'Cairn: Show My Runs / All Runs');
        await experimentRows(page)
          .filter({ hasText: `Filter: mine (${teamUsers.bob})` })
          .first()
          .waitFor({ timeout: 15_000 });
        await row.waitFor({ state: 'detached', timeout: 15_000 });
        await experimentRows(page)
          .filter({ hasText: /^credit-risk/ })
          .first()
          .waitFor({ timeout: 15_000 });
        await shot('t03-bob-mine-hides-alice-run');
        await palette(page, 'Cairn: Show My Runs / All Runs');
        await row.waitFor({ timeout: 15_000 });

        // Show Lineage on alice's run: the same graph as `cairn lineage` in bob's clone.
        const lineage = z
          .object({ nodes: z.array(z.unknown()), edges: z.array(z.unknown()) })
          .parse(JSON.parse(await cairn(team.folders.bob, ['lineage', String(id)], team.env)));
        await freshEditorArea(page, false);
        await palette(page, 'Cairn: Show Lineage', /lineage of which run/);
        const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: new RegExp(`^#${id} `) }).first();
        await pick.waitFor({ timeout: 15_000 });
        await pick.click();
        await page
          .locator('.tabs-container .tab.active', { hasText: `Lineage · run:${id}` })
          .waitFor({ timeout: 20_000 });
        const view = webview(page);
        await view.locator('.graph svg .nodes .node').first().waitFor({ timeout: 30_000 });
        assert.match(
          await view.locator('.toolbar .count').innerText(),
          new RegExp(`^${lineage.nodes.length} nodes · ${lineage.edges.length} edges`),
        );
        const steps = await view.locator('.graph .node.kind-step .label').allTextContents();
        for (const step of ['validate', 'split', 'train', 'evaluate'])
          assert.ok(
            steps.some((s) => s.includes(step)),
            `a ${step} step node among ${steps.join(', ')}`,
          );
        await shot('t04-bob-lineage-of-alice-run');
      },
    },
    {
      who: 'bob',
      name: 'team: bob runs the same pipeline: every step is restored from the remote alice pushed to; compare both runs',
      async run(page, shot) {
        const first = aliceRun();
        await freshEditorArea(page, true);
        const { id, text } = await runPipeline(page, team, 'bob');
        assert.doesNotMatch(text, /\bby \S+@/, `bob's own run carries no "by": ${text}`);
        const detail = detailSchema.parse(
          JSON.parse(await cairn(team.folders.bob, ['runs', 'show', String(id)], team.env)),
        );
        assert.equal(detail.user, teamUsers.bob);
        // Every step a cache hit, every step with outputs restored from the remote (the run's tags name it).
        assert.ok(detail.steps.length > 0);
        for (const s of detail.steps) {
          assert.ok(s.cacheHit, `${s.step} of run #${id} was a cache hit`);
          if (s.outputs.length > 0)
            assert.ok(`cairn.remote_hit.${s.step}` in detail.tags, `${s.step} was restored from the remote`);
        }
        // What bob's window was told: each step "restored from cache" (the runtime log keeps every status line).
        const log = logOf(userDataDir(team.runDir), team.folders.bob) ?? '';
        for (const s of detail.steps)
          assert.match(log, new RegExp(`run #${id} credit-risk › ${s.step}: succeeded \\(restored from cache`));

        // A click on the run's row opens its step logs: train's says where it came from and who ran it.
        await experimentRows(page)
          .filter({ hasText: new RegExp(`^#${id} succeeded`) })
          .first()
          .click();
        await page
          .locator('.quick-input-widget .quick-input-title', { hasText: `which step's log of run #${id}` })
          .waitFor({ timeout: 15_000 });
        await page
          .locator('.quick-input-list .monaco-list-row', { hasText: /^train/ })
          .first()
          .click();
        await page.locator('.tabs-container .tab.active', { hasText: 'train.log' }).waitFor({ timeout: 20_000 });
        // The editor draws only the visible part of a long line: wrapped, the whole line is there (and readable).
        await palette(page, 'View: Toggle Word Wrap');
        await page
          .locator('.monaco-editor .view-lines', { hasText: 'restored from remote' })
          .first()
          .waitFor({ timeout: 15_000 });
        // Wrapped, a line is several pieces: compared without the whitespace between them.
        assert.match(
          (await editorText(page)).replace(/\s+/g, ''),
          new RegExp(`restoredfromremote\\S+\\(key\\w+,runby${alice}on`),
          'the step log says it came from the remote and who ran it',
        );
        await shot('t05-bob-run-restored-from-remote');

        // Compare alice's and bob's runs: the same metrics, as the outputs are the same.
        await freshEditorArea(page, true);
        await palette(page, 'Cairn: Compare Runs…', /compare which runs/);
        const picks = page.locator('.quick-input-list .monaco-list-row');
        // The run selected in the Experiments view (bob's) may come pre-ticked, and the list may be redrawn as its runs
        // update: tick what is not ticked until both rows read checked, then accept with OK (Enter on a focused
        // checkbox may toggle it instead).
        const rowOf = (run: number) => picks.filter({ hasText: new RegExp(`^#${run} `) }).first();
        for (let attempt = 0; ; attempt++) {
          for (const run of [first, id]) {
            const pick = rowOf(run);
            await pick.waitFor({ timeout: 15_000 });
            if ((await pick.getAttribute('aria-checked')) !== 'true')
              await pick.locator('input[type=checkbox], .monaco-checkbox, .quick-input-list-checkbox').first().click();
          }
          const both = await Promise.all(
            [first, id].map(async (run) => (await rowOf(run).getAttribute('aria-checked')) === 'true'),
          );
          if (both.every(Boolean)) break;
          assert.ok(attempt < 5, 'both runs stay ticked in the Compare Runs pick');
        }
        await page
          .locator('.quick-input-widget .quick-input-count', { hasText: '2 Selected' })
          .waitFor({ timeout: 15_000 });
        await page.locator('.quick-input-widget .quick-input-action .monaco-button', { hasText: 'OK' }).first().click();
        await page.locator('.tabs-container .tab.active', { hasText: 'Compare 2 runs' }).waitFor({ timeout: 20_000 });
        const rows = webview(page).locator('.grid-row[data-run]');
        await rows.nth(1).waitFor({ timeout: 30_000 });
        const cells = await rows.allInnerTexts();
        for (const run of [first, id])
          assert.ok(
            cells.some((t) => t.includes(`#${run}`)),
            `run #${run} is a row: ${cells.join(' | ')}`,
          );
        await shot('t06-compare-alice-and-bob');
      },
    },
    {
      who: 'bob',
      name: "team: alice starts a run in her terminal; bob's open Experiments view shows it and its end without a refresh",
      async run(page, shot) {
        await freshEditorArea(page, true);
        await showView(page, 'Experiments');
        // Bob's view is loaded (alice's first run listed) before her new run exists: what follows can only arrive live.
        await experimentRows(page)
          .filter({ hasText: new RegExp(`^#${aliceRun()} succeeded`) })
          .first()
          .waitFor({ timeout: 15_000 });
        const id = await nextRunId(team);
        const cli = cairn(team.folders.alice, ['run', 'cairn.yaml'], team.env);
        // Awaited below; a failure of the wait in between must not leave it unhandled.
        void cli.catch(() => undefined);
        const byAlice = (status: string) =>
          experimentRows(page)
            .filter({ hasText: new RegExp(`^#${id} ${status}.*\\bby ${alice}\\b`) })
            .first();
        await byAlice('(running|succeeded)').waitFor({ timeout: 60_000 });
        await shot('t07-bob-sees-alice-terminal-run-live');
        await cli;
        await byAlice('succeeded').waitFor({ timeout: 60_000 });
        const stored = (await storedRuns(team)).find((r) => r.id === id);
        assert.equal(stored?.status, 'succeeded', `run #${id} succeeded in the store`);
        assert.equal(stored?.user, teamUsers.alice, `run #${id} is alice's`);
        await shot('t08-bob-sees-alice-terminal-run-end-live');
      },
    },
  ];
}
