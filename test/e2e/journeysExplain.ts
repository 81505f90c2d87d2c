import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { invocationResponseSchema } from '@cairn/protocol';
import { formatNumber } from '../../webviews/src/kit/format.js';
import type { Journey } from './journeys.js';
import { cairn } from './journeysRecommender.js';
import { quickCreditPipeline } from './lib/credit.js';
import { serveCli, type ServedCli } from './lib/serve.js';
import {
  clearNotifications,
  freshEditorArea,
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
 * with the importance bars (with interval whiskers) and the first explained row's waterfall. Then from a served
 * request: the registered version served by `cairn serve` in a terminal answers a row with `explain: true`; the
 * deployment's "Explain a Served Prediction…" in the Models view lists the logged row and opens its waterfall, whose
 * margin is the one the server answered.
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

/** The first row of the credit data as one `dataframe_records` row (without its label). */
function creditRow(folder: string): Record<string, string | number> {
  const lines = fs.readFileSync(path.join(folder, 'data', 'credit.csv'), 'utf8').split(/\r?\n/);
  const unquote = (s: string): string => s.replace(/^"|"$/g, '');
  const keys = (lines[0] ?? '').split(',').map(unquote);
  const values = (lines[1] ?? '').split(',').map(unquote);
  return Object.fromEntries(
    keys.flatMap((k, i) =>
      k === 'Status' ? [] : [[k, /^-?\d+(\.\d+)?$/.test(values[i] ?? '') ? Number(values[i]) : (values[i] ?? '')]],
    ),
  );
}

const loggedSchema = z.object({ deployments: z.array(z.object({ id: z.number(), logged: z.number() })) });

/** Resolves once deployment `id` has logged `rows` predictions (the log writes off the request path). */
async function logged(folder: string, id: number, rows: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { deployments } = loggedSchema.parse(JSON.parse(await cairn(folder, ['deployments', 'list'])));
    if ((deployments.find((d) => d.id === id)?.logged ?? 0) >= rows) return;
    if (Date.now() > deadline) throw new Error(`deployment ${id} logged fewer than ${rows} rows in 30 s`);
  }
}

export function explainJourneys(folder: string): Journey[] {
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
    {
      name: 'explain: a served request of the registered version; Explain a Served Prediction opens its waterfall with the margin the server answered',
      async run(page, shot) {
        const token = 'explain-e2e-token-0123456789';
        let served: ServedCli | undefined;
        try {
          served = await serveCli(folder, ['--model', 'credit-risk@1', '--token', token]);
          const { url, deploymentId } = served.started;
          assert.ok(deploymentId, 'cairn serve logs to a deployment of the workspace');
          const res = await fetch(`${url}/invocations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ dataframe_records: [creditRow(folder)], explain: true }),
          });
          const answer = invocationResponseSchema.parse(await res.json());
          assert.equal(res.status, 200);
          const margin = answer.explanations?.rows[0]?.margin[0];
          assert.ok(margin !== undefined, 'the server answered the row with its contributions');
          await logged(folder, deploymentId, 1);

          // The first journey's panel would take the focus back from the quick pick (a webview iframe does).
          await freshEditorArea(page, true);
          const header = page.locator('.sidebar .pane-header', { hasText: /^Models/ });
          // A click on the container's icon toggles it: only when it is not open already.
          if (!(await header.isVisible()))
            await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
          await header.waitFor({ timeout: 15_000 });
          if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
          const models = page
            .locator('.pane', { has: page.locator('.pane-header', { hasText: /^Models/ }) })
            .locator('.monaco-list-row');
          const model = models.filter({ hasText: /^credit-risk/ }).first();
          await model.waitFor({ timeout: 30_000 });
          // The deployment is a child of the model: expanded when it is not yet.
          const row = models.filter({ hasText: new RegExp(`^deployment #${deploymentId}(?!\\d)`) }).first();
          if (!(await row.isVisible()) && (await model.getAttribute('aria-expanded')) === 'false') await model.click();
          await row.waitFor({ timeout: 30_000 });
          await row.click({ button: 'right' });
          const item = page.getByRole('menuitem', { name: 'Explain a Served Prediction…' });
          await item.waitFor({ timeout: 15_000 });
          // VS Code's menu acts on the focused item (a synthetic click on it is not always taken): focus it, press Enter.
          await item.hover();
          await page.keyboard.press('Enter');
          await item.waitFor({ state: 'detached', timeout: 10_000 });
          // One logged row: the pick lists it with its version and inputs.
          await page
            .locator('.quick-input-widget .quick-input-title', {
              hasText: `Cairn: explain which prediction of deployment #${deploymentId}?`,
            })
            .waitFor({ timeout: 30_000 });
          const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: /row 1/ }).first();
          await pick.waitFor({ timeout: 15_000 });
          assert.match(await pick.innerText(), /champion v1 →/);
          await pick.click();
          await page
            .locator('.tabs-container .tab.active', { hasText: `Explanation · deployment #${deploymentId}` })
            .waitFor({ timeout: 20_000 });
          const view = webview(page);
          await view.locator('.waterfall-svg .step').first().waitFor({ timeout: 30_000 });
          assert.match(
            await view.locator('.toolbar .title').innerText(),
            new RegExp(`^credit-risk v1 · deployment #${deploymentId} · .* \\(row 1\\)$`),
          );
          assert.match(
            (await view.locator('.waterfall').getAttribute('aria-label')) ?? '',
            new RegExp(`margin ${formatNumber(margin).replace(/[.-]/g, '\\$&')}$`),
          );
          // The importance bars are those of the run that registered v1.
          assert.equal(await view.locator('.bars-svg .bar-row').count(), 13);
          await shot('x02-explanation-served');
        } finally {
          await served?.stop();
        }
      },
    },
  ];
}
