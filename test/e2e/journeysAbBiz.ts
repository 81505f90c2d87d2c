import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { businessAbReportSchema, simulateSummarySchema, type BusinessAbReport } from '@cairn/protocol';
import { formatNumber } from '../../webviews/src/kit/format.js';
import type { Journey } from './journeys.js';
import { cairn } from './journeysRecommender.js';
import { serveCli, type ServedCli } from './lib/serve.js';
import { openFile, palette, waitForWorkbench, webview } from './lib/workbench.js';

/**
 * The business A/B of issue 13 in a real workbench: two matrix-factorization versions of a recommender trained on
 * MovieLens (the ratings up to "now", 90% of them in time order), served with a 50/50 split keyed by user; `cairn ab
 * simulate` replays the first ratings after "now" as top-k requests, impressions, clicks and purchases through
 * /feedback; the model's "Open A/B Result" in the Models view draws per arm CTR, conversion and revenue per
 * impression with intervals, and per metric the difference, its p, the mSPRT p, interval and state, the sample size,
 * and the SRM check. Every number drawn is checked against `cairn ab business --format json` on the same store.
 */

const TOKEN = 'abbiz-e2e-token-0123456789';
/** Ratings after "now" replayed: enough for both arms to get clicks and purchases, few enough to stay quick. */
const REPLAYED = 2000;

const pipeline = `version: 1
name: movie-ab
description: Two matrix-factorization versions of a MovieLens recommender, for the business A/B (e2e part abbiz)

params:
  epochs: 2
  seed: 42

data:
  ratings:
    path: data/ratings.csv
    schema:
      userId: { type: int, min: 1 }
      movieId: { type: int, min: 1 }
      rating: { type: float, min: 0.5, max: 5 }
      timestamp: { type: int }

steps:
  split:                      # "now" is 90% of the ratings in time order: the rest is the future the simulator replays
    uses: data.split
    with:
      input: \${data.ratings}
      by: timestamp
      test_fraction: 0.1
      as_of_fraction: 0.9
    outputs: [train, test, future]

  train:
    uses: train.matrix-factorization
    with:
      ratings: \${steps.split.outputs.train}
      user: userId
      item: movieId
      rating: rating
      factors: 16
      epochs: \${params.epochs}
      lr: 0.01
      l2: 0.05
      batch_size: 1024
      seed: \${params.seed}
    outputs: [model, onnx]

  register:
    uses: model.register
    with:
      model: \${steps.train.outputs.model}
      name: movie-recommender
      alias: challenger
`;

/**
 * A folder with the pipeline above and MovieLens exported from Debian's r-cran-dslabs (its terms forbid committing
 * it), as samples/recommender's collect step does; returns the folder.
 */
export function prepareAbBizWorkspace(runDir: string): string {
  const folder = path.join(runDir, 'workspace-abbiz');
  fs.mkdirSync(path.join(folder, 'data'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'cairn.yaml'), pipeline);
  try {
    execFileSync(
      'Rscript',
      [
        '-e',
        'write.csv(dslabs::movielens[, c("userId", "movieId", "rating", "timestamp")], "data/ratings.csv", row.names = FALSE)',
      ],
      { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    throw new Error(
      `e2e abbiz: exporting MovieLens with Rscript (dslabs) failed: install it with bash scripts/setup.sh --with-data (${String(error)})`,
    );
  }
  return folder;
}

/** What the view draws for a value with its interval (webviews/src/ab/main.ts: `value [lo, hi]`). */
const withCi = (v: number, ci: readonly [number, number]): string =>
  `${formatNumber(v)} [${formatNumber(ci[0])}, ${formatNumber(ci[1])}]`;

async function cells(view: FrameLocator, row: string): Promise<string[]> {
  return (await view.locator(`${row} td`).allInnerTexts()).map((t) => t.trim());
}

export function abBizJourneys(folder: string): Journey[] {
  return [
    {
      name: 'abbiz: two recommender versions served 50/50, MovieLens replayed; the A/B view draws CTR, conversion, revenue, n, mSPRT and SRM',
      async run(page, shot) {
        await waitForWorkbench(page);
        await openFile(page, 'cairn.yaml');
        // Version 1 (2 epochs) and version 2 (10 epochs, another seed), as two runs in a terminal would register them.
        await cairn(folder, ['run', 'cairn.yaml', '-p', 'epochs=2', '-p', 'seed=42']);
        await cairn(folder, ['run', 'cairn.yaml', '-p', 'epochs=10', '-p', 'seed=7']);
        let served: ServedCli | undefined;
        let report: BusinessAbReport;
        try {
          served = await serveCli(folder, [
            '--model',
            'movie-recommender@1',
            '--challenger',
            'movie-recommender@2',
            '--split',
            '0.5',
            '--key',
            'userId',
            '--token',
            TOKEN,
          ]);
          const summary = simulateSummarySchema.parse(
            JSON.parse(
              await cairn(folder, [
                'ab',
                'simulate',
                '--url',
                served.started.url,
                '--token',
                TOKEN,
                '--ratings',
                '.cairn/work/split/future.csv',
                '--limit',
                String(REPLAYED),
              ]),
            ),
          );
          assert.equal(summary.impressions, REPLAYED);
          assert.ok(summary.clicks > 0 && summary.purchases > 0, `clicks and purchases: ${JSON.stringify(summary)}`);
          assert.equal(summary.accepted, summary.impressions + summary.clicks + summary.purchases);
          report = businessAbReportSchema.parse(
            JSON.parse(await cairn(folder, ['ab', 'business', 'movie-recommender'])),
          );
        } catch (error) {
          throw new Error(`${String(error)}\ncairn serve's log:\n${served?.log() ?? ''}`);
        } finally {
          await served?.stop();
        }
        assert.equal(report.arms[0].impressions + report.arms[1].impressions, REPLAYED);

        // The Models view lists the model (the runtime saw the terminal's runs); its context menu opens the A/B view.
        const header = page.locator('.sidebar .pane-header', { hasText: /^Models/ });
        // A click on the container's icon toggles it: only when it is not open already.
        if (!(await header.isVisible()))
          await page.locator('.activitybar .action-label[aria-label^="Cairn"]').first().click();
        await header.waitFor({ timeout: 30_000 });
        if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
        const modelRow = page
          .locator('.pane', { has: page.locator('.pane-header', { hasText: /^Models/ }) })
          .locator('.monaco-list-row', { hasText: /^movie-recommender/ })
          .first();
        await modelRow.waitFor({ timeout: 60_000 });
        await modelRow.click({ button: 'right' });
        const item = page.getByRole('menuitem', { name: 'Open A/B Result' });
        await item.waitFor({ timeout: 15_000 });
        // VS Code's menu acts on the focused item (a synthetic click on it is not always taken): focus it, press Enter.
        await item.hover();
        await page.keyboard.press('Enter');
        await item.waitFor({ state: 'detached', timeout: 10_000 });
        await page.locator('.tabs-container .tab.active', { hasText: /^A\/B/ }).waitFor({ timeout: 30_000 });
        const view = webview(page);
        await view.locator('.business-arms tbody tr').nth(1).waitFor({ timeout: 30_000 });
        assert.match(
          await view.locator('.toolbar').innerText(),
          new RegExp(
            `movie-recommender: v1 \\(champion\\) vs v2 \\(challenger\\)[\\s\\S]*deployment #${report.deploymentId}`,
          ),
        );

        // Per arm: version, impressions, CTR, conversion and revenue per impression with their intervals.
        for (const arm of report.arms) {
          assert.deepEqual(await cells(view, `.business-arms tr[data-arm="${arm.arm}"]`), [
            arm.arm,
            `v${arm.version}`,
            arm.impressions.toLocaleString(),
            withCi(arm.ctr.rate, arm.ctr.ci),
            withCi(arm.conversion.rate, arm.conversion.ci),
            withCi(arm.revenuePerImpression.mean, arm.revenuePerImpression.ci),
          ]);
        }
        // Per metric: the difference, its interval and p, the mSPRT p, interval and state, the sample size needed.
        assert.equal(await view.locator('.business-diffs tbody tr').count(), report.differences.length);
        for (const d of report.differences) {
          const drawn = await cells(view, `.business-diffs tr[data-metric="${d.metric}"]`);
          assert.deepEqual(drawn.slice(1), [
            formatNumber(d.difference),
            `[${formatNumber(d.ci[0])}, ${formatNumber(d.ci[1])}]`,
            formatNumber(d.pValue),
            formatNumber(d.sequential.pValue),
            `[${formatNumber(d.sequential.ci[0])}, ${formatNumber(d.sequential.ci[1])}]`,
            d.sampleSize.perArm === null ? '—' : d.sampleSize.perArm.toLocaleString(),
            `${d.sequential.looks} looks · ${d.sequential.pValue < report.alpha ? `${d.difference > 0 ? 'challenger' : 'champion'} higher (stop)` : 'keep collecting'}`,
          ]);
        }
        // The SRM check, with the counts the report tested, once; a mismatch makes it the warning.
        const srm = await view.locator('.srm-check').innerText();
        assert.ok(
          srm.includes(`impressions ${report.srm.observed.map((n) => n.toLocaleString()).join(' / ')} (`) &&
            srm.includes(`chi-square ${formatNumber(report.srm.chiSquare)}, p = ${formatNumber(report.srm.pValue)}`),
          `SRM line: ${srm}`,
        );
        assert.match(srm, report.srm.mismatch ? /^Sample ratio mismatch: .*do not trust/ : / — no mismatch$/);
        const business = await view.locator('.business').innerText();
        assert.equal(business.match(/ratio (mismatch|check)/gi)?.length, 1, `the SRM shows once: ${business}`);
        // The whole width for the tables, as a user would close the side bar to read them.
        await palette(page, 'View: Close Primary Side Bar');
        await view.locator('.business-diffs').waitFor();
        await shot('b01-ab-business');
      },
    },
  ];
}
