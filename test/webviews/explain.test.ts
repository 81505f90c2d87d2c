import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { explainFromViewSchema, parseWebviewMessage } from '@cairn/protocol';
import { buildExplanations } from '../../runtime/src/ml/explain/report.js';
import { tabularPredictor } from '../../runtime/src/ml/models/tabular.js';
import { CASES, explainTable, gbdtModel } from '../runtime/ml/explainFixture.js';
import { assertClean, openView, screenshot, sharedBrowser } from './harness.js';

/**
 * The explanation view in headless Chromium under the extension's CSP, fed a real explanations.json of a gradient
 * boosting model: one bar with whiskers per feature, and the waterfall of a row from the base value to its margin.
 * Screenshot: test-results/webviews/explain.png.
 */

const chromium = sharedBrowser();

describe('explanation view', () => {
  test('draws importance bars with interval whiskers and a row waterfall ending at its margin', async () => {
    const t = explainTable(300, 2);
    const model = await gbdtModel(t, CASES.binary);
    const file = join(mkdtempSync(join(tmpdir(), 'cairn-explain-view-')), 'model.json');
    writeFileSync(file, JSON.stringify(model));
    const explanations = await buildExplanations(file, 'test.csv', tabularPredictor(model), t, 'label', {
      repeats: 5,
      rows: 5,
      seed: 1,
    });
    const v = await openView(chromium(), 'explain', { width: 1300, height: 520 });
    try {
      await v.send({
        type: 'explanations',
        payload: { query: { runId: 3, step: 'evaluate' }, title: 'Run 3 · evaluate', explanations },
      });
      const p = v.page;
      await p.locator('.bars-svg .bar-row').first().waitFor();
      assert.equal(await p.locator('.bars-svg .bar-row').count(), 4, 'one bar per feature');
      assert.equal(await p.locator('.bars-svg .whisker').count(), 12, 'three whisker lines per bar');
      const first = explanations.importance.features[0];
      assert.ok(first);
      assert.equal(await p.locator('.bars-svg .bar-row .label').first().textContent(), first.feature);
      assert.match((await p.locator('.importance-scoring').textContent()) ?? '', /drop of ROC AUC/);
      // base + 4 feature steps + margin
      assert.equal(await p.locator('.waterfall-svg .step').count(), 6);
      const row = explanations.contributions?.rows[0];
      assert.ok(row);
      const label = (await p.locator('.waterfall').getAttribute('aria-label')) ?? '';
      const margin = Number(/margin (-?[\d.e+-]+)/.exec(label)?.[1]);
      assert.ok(Math.abs(margin - (row.margin[0] ?? NaN)) < 1e-3 * Math.max(1, Math.abs(margin)), label);
      // Another row redraws the waterfall (its own margin).
      await p.locator('select').selectOption('2');
      await p.waitForFunction(
        (before) => document.querySelector('.waterfall')?.getAttribute('aria-label') !== before,
        label,
      );
      await screenshot(v, 'explain');
      const posted = await v.posted();
      for (const m of posted)
        assert.ok(parseWebviewMessage(explainFromViewSchema, m).ok, `a valid message: ${JSON.stringify(m)}`);
      await assertClean(v);
    } finally {
      await v.close();
    }
  });
});
