import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { editorText, goTo, openFile, problemRows, runCommand, waitForWorkbench } from './lib/workbench.js';

/**
 * User journeys in the real workbench, in order on one page: each leaves the editor as the next expects. The fixture
 * pipeline (test/fixtures/workspace/cairn.yaml) has one seeded error: `need:` for `needs:` on line 13.
 */
export interface Journey {
  name: string;
  run(page: Page, shot: (name: string) => Promise<void>): Promise<void>;
}

export const seeded = {
  file: 'cairn.yaml',
  code: 'unknown-key',
  /** Text of the Problems row (message starts with it). */
  message: /need/,
  line: 13,
  column: 5,
  fixTitle: /needs/,
};

export const journeys: Journey[] = [
  {
    name: 'the language server starts and shows its state in the status bar',
    async run(page, shot) {
      await waitForWorkbench(page);
      await openFile(page, seeded.file);
      const status = page.locator('.statusbar-item', { hasText: 'Cairn' });
      await status.first().waitFor({ timeout: 30_000 });
      await page.locator('.statusbar-item .codicon-check', { hasText: '' }).first().waitFor({ timeout: 30_000 });
      await shot('01-opened');
    },
  },
  {
    name: 'a seeded error shows in the Problems panel and as a squiggle',
    async run(page, shot) {
      await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 30_000 });
      await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
      const row = problemRows(page).filter({ hasText: seeded.message });
      await row.first().waitFor({ timeout: 30_000 });
      const text = await row.first().innerText();
      assert.match(
        text,
        new RegExp(`${seeded.code}|Ln ${seeded.line}`),
        `Problems row names the code or line: ${text}`,
      );
      await shot('02-problems-and-squiggle');
    },
  },
  {
    name: 'completion offers Cairn items',
    async run(page, shot) {
      await page.locator('.monaco-editor .view-lines').first().click();
      await goTo(page, 9, 1);
      await page.keyboard.press('End');
      await page.keyboard.type(' ${params.', { delay: 20 });
      await page.keyboard.press('Control+Space');
      const widget = page.locator('.suggest-widget.visible');
      await widget.waitFor({ timeout: 20_000 });
      await widget.locator('.monaco-list-row', { hasText: 'lr' }).first().waitFor({ timeout: 20_000 });
      await shot('03-completion');
      await page.keyboard.press('Escape');
      // Undo the typing so the next journey sees the seeded file.
      for (let i = 0; i < 3; i++) await page.keyboard.press('Control+Z');
    },
  },
  {
    name: 'a quick fix removes the diagnostic',
    async run(page, shot) {
      // Toasts from other parts of the extension must not cover the quick-fix menu.
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.locator('.monaco-editor .view-lines').first().click();
      await goTo(page, seeded.line, seeded.column + 1);
      await page.keyboard.press('Control+.');
      const menu = page.locator('.action-widget');
      await menu.waitFor({ state: 'visible', timeout: 20_000 });
      const item = menu.locator('.action-list-item, .monaco-list-row', { hasText: seeded.fixTitle }).first();
      await item.waitFor({ timeout: 20_000 });
      await shot('04-quick-fix-menu');
      // The menu opens with its first fix focused; Enter applies it (as a user would), after checking it is ours.
      assert.match(
        await menu.locator('.action-list-item.focused, .monaco-list-row.focused').first().innerText(),
        seeded.fixTitle,
      );
      await page.keyboard.press('Enter');
      await page.locator('.monaco-editor .squiggly-error').first().waitFor({ state: 'detached', timeout: 30_000 });
      await problemRows(page)
        .filter({ hasText: seeded.message })
        .first()
        .waitFor({ state: 'detached', timeout: 30_000 });
      assert.match(await editorText(page), /needs:/);
      await shot('05-fixed');
    },
  },
];
