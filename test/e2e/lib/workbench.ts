import * as assert from 'node:assert/strict';
import type { FrameLocator, Locator, Page } from 'playwright-core';

/** Small drivers for the VS Code workbench in Chromium; selectors are VS Code's own DOM classes (1.100). */

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 90_000 });
}

/**
 * Presses a workbench key (F1, Ctrl+G) from the workbench itself. With a webview focused, the key goes through its
 * iframe, which forwards it and may then take the focus back from the quick input that opened, closing it under the
 * test: so a focused webview (its iframe is then the page's active element) is blurred first.
 */
async function workbenchKey(page: Page, key: string): Promise<void> {
  await page.evaluate(() => {
    if (document.activeElement instanceof HTMLIFrameElement) document.activeElement.blur();
  });
  await page.keyboard.press(key);
}

async function openQuickInput(page: Page): Promise<Locator> {
  await workbenchKey(page, 'F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  return input;
}

/** Runs a command by its palette title (exact row text). */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = await openQuickInput(page);
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Opens a workspace file by name through Quick Open and waits for its editor tab. */
export async function openFile(page: Page, name: string): Promise<void> {
  const input = await openQuickInput(page);
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout: 20_000 });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 20_000 });
}

/** Moves the cursor with Go to Line/Column (1-based, as the widget takes them). */
export async function goTo(page: Page, line: number, column: number): Promise<void> {
  await workbenchKey(page, 'Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15_000 });
}

export function problemRows(page: Page): Locator {
  return page.locator('.markers-panel .monaco-list-row');
}

export function editorText(page: Page): Promise<string> {
  return page.locator('.monaco-editor .view-lines').first().innerText();
}

/** The newest webview's content (a panel's document is two iframes deep: VS Code's host frame, then the view). */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Runs a palette command by a click on the row whose title is exactly `title` ("Cairn: Run Pipeline" must not pick
 * "Cairn: Run Pipeline with Params…", which the palette may list first once recently used). With `next`, the command
 * asks something: waits for the quick pick or input box with that title, else for the palette to close.
 */
export async function palette(page: Page, title: string, next?: RegExp): Promise<void> {
  await workbenchKey(page, 'F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${title}`);
  const row = page
    .locator('.quick-input-list .monaco-list-row', {
      has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
    })
    .first();
  await row.click({ timeout: 15_000 });
  if (next)
    await page.locator('.quick-input-widget .quick-input-title', { hasText: next }).waitFor({ timeout: 30_000 });
  else await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15_000 });
}

/**
 * Waits for a notification in the Notification Center, which keeps each one until cleared: a toast hides after a few
 * seconds, so one shown before the wait began (a run that ended while the test watched its row) could be missed. The
 * center stays open until `clearNotifications` — or until it is empty: opened during a run, it holds only the run's
 * progress notification, and closes when that one goes; the outcome then arrives as a toast, which the wait, already
 * running, sees too.
 */
export async function notification(page: Page, text: string | RegExp, timeout = 30_000): Promise<Locator> {
  if (!(await page.locator('.notifications-center.visible').isVisible()))
    await runCommand(page, 'Notifications: Show Notifications');
  const item = page
    .locator('.notifications-center.visible .notification-list-item, .notifications-toasts .notification-list-item', {
      hasText: text,
    })
    .first();
  await item.waitFor({ timeout });
  return item;
}

/**
 * Waits for run #id's outcome as the extension reports it (succeeded, failed, cancelled, interrupted, or a run that did
 * not start) and fails at once, with the notification's text, when it is not `succeeded`: a run that failed is never
 * waited on for the whole timeout.
 */
export async function runSucceeded(page: Page, id: number, timeout = 30_000): Promise<void> {
  const outcome = new RegExp(
    `Cairn: run #${id} \\w+\\.|Cairn: the run did not start|Cairn did not run|Cairn: no pipeline in this workspace`,
  );
  const text = (await (await notification(page, outcome, timeout)).innerText()).replace(/\s+/g, ' ');
  assert.match(text, new RegExp(`Cairn: run #${id} succeeded\\.`), `run #${id} did not succeed: "${text}"`);
}

/** Waits until the status bar shows the Cairn runtime ready (it fails at once when the runtime failed to start). */
export async function waitForRuntime(page: Page, timeout = 120_000): Promise<void> {
  const item = page.locator('.statusbar-item', { hasText: 'Runtime' });
  const ready = item.locator('.codicon-server-process').first();
  const failed = item.locator('.codicon-error').first();
  await ready.or(failed).waitFor({ timeout });
  assert.ok(await ready.isVisible(), 'the Cairn runtime failed to start (the status bar shows it failed)');
}

/** What the workbench shows when a journey fails: every notification's text (toasts and the center), for the log. */
export async function visibleNotifications(page: Page): Promise<string[]> {
  const items = page.locator(
    '.notifications-toasts .notification-list-item, .notifications-center .notification-list-item',
  );
  const texts = await items.allInnerTexts();
  return [...new Set(texts.map((t) => t.replace(/\s+/g, ' ').trim()))];
}

/** Clears every notification, toasts and the Notification Center alike; the center closes once it is empty. */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await page.locator('.notifications-center.visible').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Closes every editor; a changed file is reverted (the journeys never leave edits they did not save). */
export async function closeAllEditors(page: Page): Promise<void> {
  const dirty = await page.locator('.tabs-container .tab.dirty').count();
  if ((await page.locator('.tabs-container .tab').count()) === 0) return;
  await runCommand(page, 'View: Close All Editors');
  if (dirty > 0) {
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 10_000 });
    await dialog.getByRole('button', { name: "Don't Save" }).click();
  }
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 15_000 });
}

/**
 * A clean editor area for the next view: no notification toasts over it, no editor, the bottom panel hidden, and
 * without `keepSidebar` the sidebar too (the lineage graph and drift charts get the width).
 */
export async function freshEditorArea(page: Page, keepSidebar: boolean): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await closeAllEditors(page);
  if (await page.locator('.part.panel').isVisible()) await palette(page, 'View: Hide Panel');
  if (!keepSidebar && (await page.locator('.part.sidebar').isVisible()))
    await palette(page, 'View: Close Primary Side Bar');
}

/** Drags the sidebar's edge to the right, as a user would to read the run descriptions (age · duration · metric). */
export async function widenSidebar(page: Page, width: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  assert.ok(box, 'the sidebar is shown');
  if (box.width >= width) return;
  const x = box.x + box.width - 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + width - box.width, y, { steps: 4 });
  await page.mouse.up();
  const after = await page.locator('.part.sidebar').boundingBox();
  assert.ok(
    after && after.width > box.width,
    `dragging its edge widened the sidebar (${box.width} px before, ${after?.width ?? 0} px after)`,
  );
}
