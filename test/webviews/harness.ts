import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderWebviewHtml } from '@cairn/protocol';

/**
 * Loads a Cairn webview bundle in headless Chromium the way VS Code does: the extension's own HTML and CSP, the
 * bundle served from one origin (routed in-process: no network), a fake `acquireVsCodeApi` that records what the
 * view posts, theme variables as VS Code injects them, and every CSP violation collected.
 */

export const views = ['compare', 'lineage', 'drift', 'ab', 'explain'] as const;
export type ViewName = (typeof views)[number];

const repo = resolve(__dirname, '../..');
// One folder per test process: node:test runs files in parallel, and two builds into one folder could serve a half-written bundle.
export const buildDir = join(repo, 'test-results', 'webviews', `build-${process.pid}`);
export const screenshotDir = join(repo, 'test-results', 'webviews');
const ORIGIN = 'https://cairn.test';

/** Builds the view bundles as esbuild.mjs does (browser, iife), into test-results so the test needs no prior build. */
export async function buildViews(minify = false): Promise<void> {
  mkdirSync(buildDir, { recursive: true });
  await esbuild.build({
    entryPoints: Object.fromEntries(views.map((v) => [v, join(repo, 'webviews', 'src', v, 'main.ts')])),
    outdir: buildDir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    minify,
    sourcemap: false,
    logLevel: 'warning',
    tsconfig: join(repo, 'tsconfig.base.json'),
  });
}

export function chromiumPath(): string {
  return process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** A dark theme's variables, a subset of what VS Code sets on <html>. */
const darkTheme = `:root {
  --vscode-font-family: system-ui, "Segoe UI", sans-serif; --vscode-font-size: 13px;
  --vscode-editor-background: #1e1e1e; --vscode-editor-foreground: #d4d4d4; --vscode-descriptionForeground: #9d9d9d;
  --vscode-editorWidget-border: #454545; --vscode-focusBorder: #007fd4; --vscode-input-background: #3c3c3c;
  --vscode-input-foreground: #cccccc; --vscode-input-border: #5a5a5a; --vscode-button-background: #0e639c;
  --vscode-button-foreground: #ffffff; --vscode-button-secondaryBackground: #3a3d41; --vscode-button-secondaryForeground: #cccccc;
  --vscode-list-hoverBackground: #2a2d2e; --vscode-list-inactiveSelectionBackground: #37373d;
  --vscode-editorWarning-foreground: #cca700; --vscode-editorError-foreground: #f14c4c; --vscode-testing-iconPassed: #73c991;
  --vscode-charts-blue: #3794ff;
}`;

export interface ViewPage {
  page: Page;
  /** Messages the view posted to the extension, in order. */
  posted(): Promise<Array<{ type: string; payload: unknown }>>;
  /** Delivers a message from the extension (a `message` event, as VS Code does). */
  send(message: unknown): Promise<void>;
  cspViolations(): Promise<string[]>;
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openView(
  browser: Browser,
  view: ViewName,
  opts: {
    width?: number;
    height?: number;
    state?: unknown;
    /** The extension's side: gets every message the view posts (as posted, unchecked), as it is posted. */
    host?: (message: unknown) => void;
  } = {},
): Promise<ViewPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 } });
  const page = await context.newPage();
  const nonce = 'testnonce0123456789';
  const html = renderWebviewHtml({
    title: view,
    scriptUri: `${ORIGIN}/${view}.js`,
    styleUri: `${ORIGIN}/${view}.css`,
    cspSource: ORIGIN,
    nonce,
  }).replace('</head>', `<style nonce="${nonce}">${darkTheme}</style></head>`);
  await page.route(`${ORIGIN}/**`, async (route) => {
    const name = new URL(route.request().url()).pathname.slice(1);
    if (name === 'index.html') return route.fulfill({ contentType: 'text/html', body: html });
    if (/^[a-z]+\.(js|css)$/.test(name)) {
      return route.fulfill({
        contentType: name.endsWith('.js') ? 'text/javascript' : 'text/css',
        body: readFileSync(join(buildDir, name)),
      });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  if (opts.host) await page.exposeFunction('__cairnHost', opts.host);
  // Anything else (a CDN, the network) is refused: the views must be self-contained.
  await page.route(/^(?!https:\/\/cairn\.test\/)/, (route) => route.abort());
  // A string, not a function: tsx's name-keeping helpers would not exist inside the page.
  // `__name` is the helper tsx wraps named inner functions with; functions passed to page.evaluate need it there.
  await page.addInitScript(`(() => {
    window.__name = (f) => f;
    const posted = [];
    const csp = [];
    let saved = ${JSON.stringify(opts.state ?? null)};
    window.__posted = posted;
    window.__csp = csp;
    window.__getState = () => saved;
    document.addEventListener('securitypolicyviolation', (e) => csp.push(e.violatedDirective + ' ' + e.blockedURI));
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => {
        posted.push(JSON.parse(JSON.stringify(m)));
        if (window.__cairnHost) void window.__cairnHost(JSON.parse(JSON.stringify(m)));
      },
      getState: () => saved,
      setState: (s) => { saved = JSON.parse(JSON.stringify(s)); },
    });
  })();`);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(`${ORIGIN}/index.html`);
  // The view says ready once its listener is installed: the handshake every host waits for.
  await page.waitForFunction(() =>
    ((window as unknown as { __posted: Array<{ type: string }> }).__posted ?? []).some((m) => m.type === 'ready'),
  );
  return {
    page,
    posted: () =>
      page.evaluate(() => (window as unknown as { __posted: Array<{ type: string; payload: unknown }> }).__posted),
    send: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
    pageErrors,
    close: () => context.close(),
  };
}

/** Waits until the view has posted a message of this type (after `from` messages), and returns it. */
export async function waitForPost(v: ViewPage, type: string, from = 0): Promise<{ type: string; payload: unknown }> {
  const handle = await v.page.waitForFunction(
    ([t, f]) =>
      (window as unknown as { __posted: Array<{ type: string }> }).__posted.slice(f).find((m) => m.type === t),
    [type, from] as const,
  );
  return (await handle.jsonValue()) as { type: string; payload: unknown };
}

export async function screenshot(v: ViewPage, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await v.page.screenshot({ path });
  return path;
}

/**
 * One Chromium for the test file: checked, views built and launched before its tests, closed after them. Returns a
 * getter (the browser exists only once `before` ran).
 */
export function sharedBrowser(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    assert.ok(
      existsSync(chromiumPath()),
      `Chromium not found at ${chromiumPath()}: run scripts/setup.sh --with-e2e or set CAIRN_CHROMIUM`,
    );
    await buildViews();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    assert.ok(browser, 'the browser is launched in before()');
    return browser;
  };
}

/** Nothing the CSP blocked, no error in the page. */
export async function assertClean(v: ViewPage): Promise<void> {
  assert.deepEqual(await v.cspViolations(), [], 'no Content-Security-Policy violation');
  assert.deepEqual(v.pageErrors, [], 'no error in the page');
}
