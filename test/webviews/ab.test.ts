import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { abFromViewSchema, abToViewSchema, parseWebviewMessage } from '@cairn/protocol';
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
      await v.send({ type: 'result', payload: { query: { name: 'credit-risk' }, result: abResultFixture(), promoteTo: 'champion' } });
      const p = v.page;
      await p.locator('.arms tbody tr').first().waitFor();
      assert.match(await p.locator('.toolbar').innerText(), /credit-risk: v2 \(champion\) vs v3 \(challenger\)[\s\S]*challenger wins[\s\S]*replay · data\/holdout\.csv/);
      assert.match(await p.locator('.statement').innerText(), /^Two-proportion z-test on accuracy/);
      const rows = await p.locator('.arms tbody tr').allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows[0] ?? '', /champion\s+v2\s+1,336\s+1,336\s+0\.781\s+0\.822/);
      assert.match(rows[1] ?? '', /challenger\s*winner\s+v3\s+1,336\s+1,336\s+0\.812\s+0\.838/);
      assert.equal(await p.locator('.ci').getAttribute('aria-label'), 'Difference 0.031 with 95% confidence interval from 4.000e-4 to 0.0616; the interval excludes zero');
      assert.equal(await p.locator('.ci-svg .ci-point.good').count(), 1);
      assert.match(await p.locator('.test').innerText(), /two-proportion z-test[\s\S]*accuracy \(higher is better\)[\s\S]*p-value\s+0\.047/);
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
      await v.send({ type: 'promoted', payload: { resultId: 7, ok: true, message: 'credit-risk@champion → v3 (was v2)' } });
      await p.locator('.outcome.good').waitFor();
      assert.equal(await p.locator('.outcome').innerText(), 'credit-risk@champion → v3 (was v2)');
      const state = (await p.evaluate(() => (window as unknown as { __getState(): unknown }).__getState())) as { query: unknown };
      assert.deepEqual(state.query, { name: 'credit-risk' });
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('an inconclusive result with no promotion offered: the interval crosses zero, the button is off', async () => {
    const v = await openView(chromium(), 'ab', { width: 1000, height: 560 });
    try {
      const result = abResultFixture({ difference: -0.004, ci: [-0.03, 0.022], pValue: 0.61, winner: 'inconclusive', lowerIsBetter: true, metric: 'rmse', method: 'bootstrap', statement: 'Bootstrap of the squared error: no significant difference.' });
      await v.send({ type: 'result', payload: { query: { resultId: 7 }, result, promoteTo: null } });
      const p = v.page;
      await p.locator('.arms tbody tr').first().waitFor();
      assert.match(await p.locator('.toolbar').innerText(), /inconclusive/);
      assert.match((await p.locator('.ci').getAttribute('aria-label')) ?? '', /the interval contains zero$/);
      assert.equal(await p.locator('.ci-svg .ci-point.muted').count(), 1);
      assert.match(await p.locator('.ci-svg').innerHTML(), /← challenger better/, 'lower is better: the challenger side is the left');
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

describe('A/B contract', () => {
  test('the extension drops a promote message that does not name a result id, and unknown types', () => {
    assert.equal(parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: 7 } }).ok, true);
    const noId = parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: '7; rm -rf' } });
    assert.equal(noId.ok, false);
    assert.match(noId.ok ? '' : noId.error, /invalid webview message 'promote': payload\.resultId/);
    assert.equal(parseWebviewMessage(abFromViewSchema, { type: 'promote', payload: { resultId: 7, alias: 'production' } }).ok, false, 'the view cannot choose the alias');
    assert.equal(parseWebviewMessage(abFromViewSchema, { type: 'setAlias', payload: {} }).ok, false);
    assert.equal(parseWebviewMessage(abToViewSchema, { type: 'result', payload: { query: {}, result: abResultFixture(), promoteTo: null } }).ok, true);
  });
});
