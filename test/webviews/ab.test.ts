import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { abFromViewSchema, abToViewSchema, parseWebviewMessage } from '@cairn/protocol';
import { businessReport } from '../../runtime/src/ab/business.js';
import type { ImpressionOutcome } from '../../runtime/src/store/repos/abEvents.js';
import { seededRandom } from '../../runtime/src/util/prng.js';
import { abResultFixture } from './abFixture.js';
import { assertClean, openView, screenshot, sharedBrowser, waitForPost } from './harness.js';

/**
 * The A/B result view in headless Chromium under the extension's CSP: the arms table, the test statement, the
 * confidence interval drawn against zero, the winner, and the "Promote challenger" round trip; invalid messages are
 * dropped in both directions. Screenshot: test-results/webviews/ab.png.
 */

const chromium = sharedBrowser();

describe('A/B view', () => {
  test('draws the arms, the statement, the interval and the winner; Promote posts the shown result and shows the outcome', async () => {
    const v = await openView(chromium(), 'ab', { width: 1200, height: 620 });
    try {
      await v.send({
        type: 'result',
        payload: { query: { name: 'credit-risk' }, result: abResultFixture(), promoteTo: 'champion' },
      });
      const p = v.page;
      await p.locator('.arms tbody tr').first().waitFor();
      assert.match(
        await p.locator('.toolbar').innerText(),
        /credit-risk: v2 \(champion\) vs v3 \(challenger\)[\s\S]*challenger wins[\s\S]*replay · data\/holdout\.csv/,
      );
      assert.match(await p.locator('.statement').innerText(), /^Two-proportion z-test on accuracy/);
      const rows = await p.locator('.arms tbody tr').allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows[0] ?? '', /champion\s+v2\s+1,336\s+1,336\s+0\.781\s+0\.822/);
      assert.match(rows[1] ?? '', /challenger\s*winner\s+v3\s+1,336\s+1,336\s+0\.812\s+0\.838/);
      assert.equal(
        await p.locator('.ci').getAttribute('aria-label'),
        'Difference 0.031 with 95% confidence interval from 4.000e-4 to 0.0616; the interval excludes zero',
      );
      assert.equal(await p.locator('.ci-svg .ci-point.good').count(), 1);
      assert.match(
        await p.locator('.test').innerText(),
        /two-proportion z-test[\s\S]*accuracy \(higher is better\)[\s\S]*p-value\s+0\.047/,
      );
      const button = p.getByRole('button', { name: 'Promote challenger to champion' });
      assert.equal(await button.isEnabled(), true);
      await screenshot(v, 'ab');

      const before = (await v.posted()).length;
      await button.click();
      const promote = await waitForPost(v, 'promote', before);
      assert.deepEqual(promote.payload, { resultId: 7 });
      assert.equal(await button.isEnabled(), false, 'no second promotion while the first is in flight');
      // An answer about another result is ignored; the one about this result is shown.
      await v.send({ type: 'promoted', payload: { resultId: 99, ok: false, message: 'not this one' } });
      await v.send({
        type: 'promoted',
        payload: { resultId: 7, ok: true, message: 'credit-risk@champion → v3 (was v2)' },
      });
      await p.locator('.outcome.good').waitFor();
      assert.equal(await p.locator('.outcome').innerText(), 'credit-risk@champion → v3 (was v2)');
      const state = (await p.evaluate(() => (window as unknown as { __getState(): unknown }).__getState())) as {
        query: unknown;
      };
      assert.deepEqual(state.query, { name: 'credit-risk' });
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('an inconclusive result with no promotion offered: the interval crosses zero, the button is off', async () => {
    const v = await openView(chromium(), 'ab', { width: 1000, height: 560 });
    try {
      const result = abResultFixture({
        difference: -0.004,
        ci: [-0.03, 0.022],
        pValue: 0.61,
        winner: 'inconclusive',
        lowerIsBetter: true,
        metric: 'rmse',
        method: 'bootstrap',
        statement: 'Bootstrap of the squared error: no significant difference.',
      });
      await v.send({ type: 'result', payload: { query: { resultId: 7 }, result, promoteTo: null } });
      const p = v.page;
      await p.locator('.arms tbody tr').first().waitFor();
      assert.match(await p.locator('.toolbar').innerText(), /inconclusive/);
      assert.match((await p.locator('.ci').getAttribute('aria-label')) ?? '', /the interval contains zero$/);
      assert.equal(await p.locator('.ci-svg .ci-point.muted').count(), 1);
      assert.match(
        await p.locator('.ci-svg').innerHTML(),
        /← challenger better/,
        'lower is better: the challenger side is the left',
      );
      assert.equal(await p.getByRole('button', { name: 'Promote challenger' }).isEnabled(), false);
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('an invalid message is dropped, reported to the extension, and not acted on', async () => {
    const v = await openView(chromium(), 'ab');
    try {
      const bad = abResultFixture({ pValue: 2 });
      await v.send({ type: 'result', payload: { query: {}, result: bad, promoteTo: 'champion' } });
      const err = await waitForPost(v, 'error');
      assert.match((err.payload as { message: string }).message, /dropped invalid webview message 'result'/);
      assert.equal(await v.page.locator('.arms tbody tr').count(), 0, 'nothing drawn from the invalid result');
      assert.equal(await v.page.getByRole('button', { name: /Promote challenger/ }).isEnabled(), false);
      assert.deepEqual(await v.cspViolations(), []);
    } finally {
      await v.close();
    }
  });
});

/** A real report (runtime/src/ab/business.ts) over seeded outcomes: a challenger with more clicks and purchases. */
function businessFixture(champion: number, challenger: number) {
  const random = seededRandom(3);
  const outcomes: ImpressionOutcome[] = [];
  const add = (arm: 'champion' | 'challenger', n: number, pClick: number): void => {
    for (let i = 0; i < n; i++) {
      const clicked = random() < pClick;
      const purchased = clicked && random() < 0.3;
      outcomes.push({
        arm,
        version: arm === 'champion' ? 1 : 2,
        shownAt: outcomes.length,
        clicked,
        purchased,
        revenue: purchased ? 9.99 : 0,
      });
    }
  };
  add('champion', champion, 0.1);
  add('challenger', challenger, 0.16);
  return businessReport(outcomes, {
    name: 'rec',
    deploymentId: 4,
    versions: { champion: 1, challenger: 2 },
    split: 0.5,
  });
}

describe('A/B view: business metrics', () => {
  test('per arm CTR, conversion and revenue per impression with intervals; differences with p, mSPRT and n', async () => {
    const v = await openView(chromium(), 'ab', { width: 1200, height: 620 });
    try {
      const report = businessFixture(1000, 1000);
      await v.send({ type: 'business', payload: { report } });
      const p = v.page;
      await p.locator('.business-arms tbody tr').first().waitFor();
      assert.match(
        await p.locator('.toolbar').innerText(),
        /rec: v1 \(champion\) vs v2 \(challenger\)[\s\S]*online · deployment #4/,
      );
      const [a, b] = report.arms;
      const arms = await p.locator('.business-arms tbody tr').allInnerTexts();
      assert.match(
        arms[0] ?? '',
        new RegExp(
          `champion\\s+v1\\s+${a.impressions.toLocaleString()}\\s+${a.ctr.rate.toFixed(3).replace(/0+$/, '')}`,
        ),
      );
      assert.match(arms[1] ?? '', new RegExp(`challenger\\s+v2\\s+${b.impressions.toLocaleString()}`));
      assert.match(
        await p.locator('.business-arms thead').innerText(),
        /CTR 95%[\s\S]*conversion 95%[\s\S]*revenue \/ impression 95%/,
      );
      const diffs = await p.locator('.business-diffs tbody tr').allInnerTexts();
      assert.equal(diffs.length, 3);
      assert.match(diffs[0] ?? '', /^CTR/);
      assert.match(diffs[2] ?? '', /^revenue \/ impression/);
      const ctr = report.differences[0];
      assert.ok(ctr);
      const ctrRow = p.locator('.business-diffs tr[data-metric="ctr"] td');
      assert.equal(await ctrRow.nth(6).innerText(), (ctr.sampleSize.perArm ?? 0).toLocaleString());
      // A 1000/1000 split is no mismatch: the SRM check is drawn all the same, with the counts and the test's p.
      assert.match(
        await p.locator('.srm-check').innerText(),
        new RegExp(`^Sample ratio check: impressions 1,000 / 1,000 \\(50% / 50%\\) against 50% / 50%: .*no mismatch$`),
      );
      assert.equal(
        await ctrRow.nth(7).innerText(),
        `${ctr.sequential.looks} looks · ${ctr.sequential.pValue < report.alpha ? 'challenger higher (stop)' : 'keep collecting'}`,
      );
      assert.equal(
        await p.locator('.ab > section.verdict').isVisible(),
        false,
        'no stored result: only the business section',
      );
      await screenshot(v, 'ab-business');
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('a split far off 50/50 shows the sample-ratio-mismatch warning', async () => {
    const v = await openView(chromium(), 'ab', { width: 1000, height: 560 });
    try {
      const report = businessFixture(1200, 800);
      assert.equal(report.srm.mismatch, true);
      await v.send({ type: 'business', payload: { report } });
      await v.page.locator('.srm-check.bad').waitFor();
      assert.match(
        await v.page.locator('.srm-check').innerText(),
        /^Sample ratio mismatch: impressions 1,200 \/ 800 \(60% \/ 40%\) against 50% \/ 50% \(chi-square [\d.]+, p = .+\): .*do not trust the comparison/,
      );
      // Said once: the runtime's own warning sentence is not drawn as a second bullet.
      const text = await v.page.locator('.business').innerText();
      assert.equal(text.match(/ratio mismatch/gi)?.length, 1, text);
      assert.equal(await v.page.locator('.business-warnings li').count(), report.warnings.length - 1);
      await screenshot(v, 'ab-business-srm');
      await assertClean(v);
    } finally {
      await v.close();
    }
  });
});

describe('A/B contract', () => {
  test('the extension drops a promote message that does not name a result id, and unknown types', () => {
    assert.equal(parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: 7 } }).ok, true);
    const noId = parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: '7; rm -rf' } });
    assert.equal(noId.ok, false);
    assert.match(noId.ok ? '' : noId.error, /invalid webview message 'promote': payload\.resultId/);
    assert.equal(
      parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: 7, alias: 'production' } }).ok,
      false,
      'the view cannot choose the alias',
    );
    assert.equal(parseWebviewMessage(abFromViewSchema, { type: 'setAlias', payload: {} }).ok, false);
    assert.equal(
      parseWebviewMessage(abToViewSchema, {
        type: 'result',
        payload: { query: {}, result: abResultFixture(), promoteTo: null },
      }).ok,
      true,
    );
  });
});
