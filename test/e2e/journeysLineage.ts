import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import type { Journey } from './journeys.js';
import { cairn, prepareRecommenderWorkspace } from './journeysRecommender.js';
import { freshEditorArea, palette, runCommand, waitForWorkbench, webview } from './lib/workbench.js';

/**
 * The lineage at real size (issue 14): the recommender run several times from the palette with varied params (the
 * unchanged steps are cache hits, so reruns are fast), then Show Lineage on a middle run. By default the view shows
 * that run (its steps, what they read and wrote), files by their name, and the other runs' nodes folded into one
 * count node, which expands on a click. What the view shows is checked against `cairn lineage` on the same store.
 */

/** Param overrides of the runs, in order: the third repeats the first but for lr, the last repeats the first. */
const runs = ['epochs=1', 'epochs=2', 'epochs=1 lr=0.02', 'epochs=2 lr=0.02', 'epochs=1'];
/** The run whose lineage is opened: earlier runs computed some of its outputs, later runs read them. */
const middle = 3;

/** The recommender workspace of the recommender journeys, with the seeded error already fixed; returns its folder. */
export function prepareLineageWorkspace(runDir: string): string {
  const folder = path.join(runDir, 'workspace-lineage');
  prepareRecommenderWorkspace(folder);
  const file = path.join(folder, 'cairn.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\$\{params\.epoch\}/, '${params.epochs}'));
  return folder;
}

const lineageSchema = z.object({
  nodes: z.array(
    z.object({ id: z.string(), kind: z.string(), runId: z.number().optional(), path: z.string().optional() }),
  ),
  edges: z.array(z.object({ from: z.string(), to: z.string() })),
});

/** Starts a run with Run Pipeline with Params… and waits for its row in Experiments to say how it ended. */
async function runWithParams(page: Page, id: number, overrides: string): Promise<void> {
  await palette(page, 'Cairn: Run Pipeline with Params…', /with params/);
  await page.locator('.quick-input-widget input').fill(overrides);
  await page.keyboard.press('Enter');
  const rows = page
    .locator('.pane', { has: page.locator('.pane-header', { hasText: /^Experiments/ }) })
    .locator('.monaco-list-row');
  // An ended run's row stays ended: this waits on a final state, which cannot be missed.
  const done = rows.filter({ hasText: new RegExp(`^#${id} (succeeded|failed|cancelled|interrupted)`) }).first();
  await done.waitFor({ timeout: 120_000 });
  assert.match(await done.innerText(), new RegExp(`^#${id} succeeded`), `run #${id} (${overrides}) did not succeed`);
}

export function lineageJourneys(folder: string): Journey[] {
  return [
    {
      name: `lineage: after ${runs.length} runs with varied params, Show Lineage shows the run with other runs folded; a click expands them`,
      async run(page, shot) {
        await waitForWorkbench(page);
        // The Experiments view shows each run's end.
        await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
        await page.locator('.sidebar .pane-header', { hasText: /^Experiments/ }).waitFor({ timeout: 15_000 });
        for (const [i, overrides] of runs.entries()) await runWithParams(page, i + 1, overrides);
        await runCommand(page, 'Notifications: Clear All Notifications');
        await freshEditorArea(page, false);

        const graph = lineageSchema.parse(JSON.parse(await cairn(folder, ['lineage', String(middle)])));
        const own = graph.nodes.filter((n) => n.kind === 'step' && n.runId === middle);
        const others = graph.nodes.filter((n) => n.kind === 'step' && n.runId !== middle);
        assert.ok(
          own.length > 0 && others.length > 0,
          `run #${middle}'s lineage has steps of other runs: ${graph.nodes.length} nodes`,
        );

        await palette(page, 'Cairn: Show Lineage', /lineage of which run/);
        const pick = page
          .locator('.quick-input-list .monaco-list-row', { hasText: new RegExp(`^#${middle} `) })
          .first();
        await pick.waitFor({ timeout: 15_000 });
        await pick.click();
        await page
          .locator('.tabs-container .tab.active', { hasText: `Lineage · run:${middle}` })
          .waitFor({ timeout: 20_000 });
        const view = webview(page);
        const fold = view.locator('.graph .node.fold');
        await fold.waitFor({ timeout: 30_000 });
        // Folded: only this run's steps; the count node names how many nodes are left out.
        const stepRuns = await view.locator('.graph .node.kind-step .detail').allTextContents();
        assert.equal(
          stepRuns.length,
          own.length,
          `the run's own ${own.length} steps are shown: ${stepRuns.join(', ')}`,
        );
        assert.ok(
          stepRuns.every((t) => t.startsWith(`run #${middle}`)),
          `only run #${middle}'s steps: ${stepRuns.join(', ')}`,
        );
        const shown = await view.locator('.graph .node:not(.fold)').count();
        assert.match(
          (await fold.locator('.label').textContent()) ?? '',
          new RegExp(`^\\+${graph.nodes.length - shown} of other runs`),
        );
        // Files by name, the path on hover (the node's title).
        const testSplit = view.locator('.graph .node.kind-artifact', {
          has: view.locator('title', { hasText: '.cairn/work/split/test.csv' }),
        });
        assert.equal(await testSplit.locator('.label').textContent(), '◆ test.csv');
        await shot('l01-lineage-folded');

        await fold.click();
        await fold.waitFor({ state: 'detached', timeout: 10_000 });
        assert.equal(
          await view.locator('.graph .node').count(),
          graph.nodes.length,
          'expanded, the graph draws every node `cairn lineage` lists',
        );
        await shot('l01-lineage-expanded');
        await view.getByRole('button', { name: 'Fold other runs' }).click();
        await fold.waitFor({ timeout: 10_000 });
      },
    },
  ];
}
