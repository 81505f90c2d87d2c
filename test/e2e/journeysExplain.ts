import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Journey } from './journeys.js';
import { quickCreditPipeline } from './lib/credit.js';
import {
  clearNotifications,
  openFile,
  palette,
  runSucceeded,
  waitForRuntime,
  waitForWorkbench,
  webview,
} from './lib/workbench.js';

/**
 * The explanation view opened from a run (issue 13): the quick credit pipeline (its `evaluate` step has `explain: true`)
 * runs from the palette; its row in Experiments offers "Open Explanation" in its context menu, which opens the panel
 * with the importance bars (with interval whiskers) and the first explained row's waterfall.
 */

const repo = path.resolve(__dirname, '..', '..');

/** A copy of samples/credit with the quick pipeline in `target`; returns it. */
export function prepareExplainWorkspace(runDir: string): string {
  const folder = path.join(runDir, 'workspace-explain');
  fs.cpSync(path.join(repo, 'samples', 'credit'), folder, { recursive: true });
  const file = path.join(folder, 'cairn.yaml');
  const yaml = quickCreditPipeline(fs.readFileSync(file, 'utf8'), 3);
  assert.match(
    yaml,
    /^ {2}evaluate:.*\n(?: {4}.*\n)*? {6}explain: true/m,
    'the quick pipeline still explains its evaluate step',
  );
  fs.writeFileSync(file, yaml);
  return folder;
}

export function explainJourneys(): Journey[] {
  return [
    {
      name: 'explain: a run of the credit sample offers Open Explanation; the view draws the importance bars and a waterfall',
      async run(page, shot) {
        await waitForWorkbench(page);
        await openFile(page, 'cairn.yaml');
        await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
        const header = page.locator('.sidebar .pane-header', { hasText: /^Experiments/ });
        await header.waitFor({ timeout: 15_000 });
        if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
        // The first window activates the extension and starts its runtime: slow on a busy machine. The run is started
        // once the runtime is ready, as a user sees it in the status bar.
        await waitForRuntime(page);
        await palette(page, 'Cairn: Run Pipeline');
        await runSucceeded(page, 1, 180_000);
        await clearNotifications(page);
        const rows = page
          .locator('.pane', { has: page.locator('.pane-header', { hasText: /^Experiments/ }) })
          .locator('.monaco-list-row');
        const run = rows.filter({ hasText: /^#1 succeeded/ }).first();
        await run.waitFor({ timeout: 30_000 });
        await run.click({ button: 'right' });
        const item = page.getByRole('menuitem', { name: 'Open Explanation' });
        await item.waitFor({ timeout: 15_000 });
        // VS Code's menu acts on the focused item (a synthetic click on it is not always taken): focus it, press Enter.
        await item.hover();
        await page.keyboard.press('Enter');
        await item.waitFor({ state: 'detached', timeout: 10_000 });
        await page
          .locator('.tabs-container .tab.active', { hasText: 'Explanation · run #1 · evaluate' })
          .waitFor({ timeout: 20_000 });

        const view = webview(page);
        const bars = view.locator('.bars-svg .bar-row');
        await bars.first().waitFor({ timeout: 30_000 });
        // The quick pipeline's logistic regression uses the credit sample's 13 features: a bar and its whiskers each.
        assert.equal(await bars.count(), 13, 'one bar per feature');
        assert.equal(await view.locator('.bars-svg .whisker').count(), 13 * 3, 'three whisker lines per bar');
        assert.match((await view.locator('.importance-scoring').textContent()) ?? '', /drop of ROC AUC/);
        // The waterfall: the base value, one step per feature, the row's margin.
        const steps = view.locator('.waterfall-svg .step');
        await steps.first().waitFor({ timeout: 10_000 });
        assert.ok((await steps.count()) >= 3, `a waterfall from the base to the margin: ${await steps.count()} steps`);
        assert.match((await view.locator('.waterfall').getAttribute('aria-label')) ?? '', /margin -?[\d.]/);
        await shot('x01-explanation');
      },
    },
  ];
}
