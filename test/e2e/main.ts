import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { z } from 'zod';
import { journeys, type Journey } from './journeys.js';
import { abBizJourneys, prepareAbBizWorkspace } from './journeysAbBiz.js';
import { deployJourneys, prepareDeployWorkspace } from './journeysDeploy.js';
import { explainJourneys, prepareExplainWorkspace } from './journeysExplain.js';
import { lineageJourneys, prepareLineageWorkspace } from './journeysLineage.js';
import { prepareRecommenderWorkspace, recommenderJourneys, recoverRecommender } from './journeysRecommender.js';
import { prepareSlurmWorkspace, prepareSweepWorkspace, slurmJourneys, sweepJourneys } from './journeysCluster.js';
import { prepareTeam, teamJourneys, teamPgpass, type Member } from './journeysTeam.js';
import { postgresCluster } from '../lib/postgres.js';
import { startSlurm } from '../lib/slurm.js';
import { startCodeServer, userDataDir, type CodeServer } from './lib/codeServer.js';
import { runtimeLogTail } from './lib/runtimeLog.js';
import { visibleNotifications } from './lib/workbench.js';
import { starveCpu } from './lib/slow.js';

/**
 * Drives Cairn in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) with headless Chromium: the UI journeys of
 * journeys.ts, the recommender journeys of journeysRecommender.ts (in a second window), then the extension-host Mocha
 * suite (extension-suite/) through the workbench URL payload. Called by test/e2e/run.sh, which installs code-server
 * and builds the bundles first. Prints `e2e: N passed, M failed`. E2E_REPEAT=N runs the whole suite N times, each on a
 * fresh code-server and workspaces (a failure in any fails the run; the last line counts every journey of every
 * iteration); E2E_SLOW=1 runs it on a CPU starved by one busy process per core (lib/slow.ts).
 */

const repo = path.resolve(__dirname, '..', '..');
const shotsRoot = path.join(repo, 'test-results', 'e2e');
/** Screenshots of the iteration running: test-results/e2e/, or test-results/e2e/<i>/ with E2E_REPEAT. */
let shots = shotsRoot;
const fixture = path.join(repo, 'test', 'fixtures', 'workspace');
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

interface Outcome {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/** One whole run of the suite on a fresh code-server; `tag` names the iteration in its summary line (E2E_REPEAT). */
async function runSuite(binary: string, tag: string): Promise<Outcome[]> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-'));
  fs.mkdirSync(shots, { recursive: true });
  const suiteResult = path.join(runDir, 'suite.json');
  const outcomes: Outcome[] = [];
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const t0 = Date.now();
  try {
    // The runtimes code-server starts read SLURM_CONF at each Slurm command: the slurm part links it to its cluster;
    // and PGPASSFILE when they open a PostgreSQL store: the team part writes it for its cluster.
    const srv = await startCodeServer(binary, runDir, {
      CAIRN_E2E_RESULT: suiteResult,
      SLURM_CONF: slurmConfLink(runDir),
      PGPASSFILE: teamPgpass(runDir),
    });
    server = srv;
    console.log(`e2e: code-server at ${srv.base} (${Date.now() - t0} ms)`);
    const b = await chromium.launch({
      executablePath: process.env['CAIRN_E2E_CHROMIUM'] ?? '/usr/bin/chromium',
      headless: true,
      args: chromiumArgs,
    });
    browser = b;
    // CAIRN_E2E_ONLY=deploy,suite runs only those parts while working on them (the others are listed as not run).
    const only = process.env['CAIRN_E2E_ONLY']?.split(',').map((s) => s.trim());
    const part = async (name: string, fn: () => Promise<void>): Promise<void> => {
      if (only && !only.includes(name)) {
        console.log(`e2e: ${name} not run (CAIRN_E2E_ONLY=${only.join(',')})`);
        return;
      }
      await fn();
    };
    await part('ui', () => runJourneys(b, srv, copyWorkspace(runDir, 'ui'), outcomes));
    await part('recommender', () => runRecommenderJourneys(b, srv, runDir, outcomes));
    await part('deploy', () => runDeployJourneys(b, srv, runDir, outcomes));
    await part('lineage', () => {
      const folder = prepareLineageWorkspace(runDir);
      return runWindow(b, srv, folder, lineageJourneys(folder), outcomes, { failShot: 'l' });
    });
    await part('slurm', () => runSlurmJourneys(b, srv, runDir, outcomes));
    await part('sweep', async () => {
      const folder = await prepareSweepWorkspace(runDir);
      await runWindow(b, srv, folder, sweepJourneys(folder), outcomes, { failShot: 'w' });
    });
    await part('team', () => runTeamJourneys(b, srv, runDir, outcomes));
    await part('explain', () => {
      const folder = prepareExplainWorkspace(runDir);
      return runWindow(b, srv, folder, explainJourneys(folder), outcomes, { failShot: 'x' });
    });
    await part('abbiz', () => {
      const folder = prepareAbBizWorkspace(runDir);
      return runWindow(b, srv, folder, abBizJourneys(folder), outcomes, { failShot: 'b' });
    });
    await part('suite', () => runExtensionSuite(b, srv, copyWorkspace(runDir, 'suite'), suiteResult, outcomes));
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    outcomes.push({ name: 'harness', ok: false, ms: Date.now() - t0, error: message });
    console.log(`FAIL harness: ${message}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    fs.copyFileSync(path.join(runDir, 'code-server.log'), path.join(shots, 'code-server.log'));
    console.log(`e2e: logs kept in ${runDir}`);
  } else {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  console.log(`e2e: screenshots in ${path.relative(repo, shots)}/ (${Date.now() - t0} ms in all)`);
  if (process.env['CAIRN_E2E_ONLY'])
    console.log(`e2e: partial run (CAIRN_E2E_ONLY=${process.env['CAIRN_E2E_ONLY']}): not the whole suite`);
  console.log(`e2e: ${tag}${outcomes.length - failed.length} passed, ${failed.length} failed`);
  return outcomes;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name} must be a whole number of at least 1; got "${raw}"`);
  return Number(raw);
}

async function main(): Promise<number> {
  const binary = process.env['CAIRN_E2E_CODE_SERVER'];
  if (!binary || !fs.existsSync(binary)) {
    console.error(
      `e2e: CAIRN_E2E_CODE_SERVER must name the code-server binary (run test/e2e/run.sh); got ${binary ?? 'nothing'}`,
    );
    return 2;
  }
  const repeat = positiveInt('E2E_REPEAT', 1);
  const hogs = process.env['E2E_SLOW'] === '1' ? starveCpu() : undefined;
  if (hogs) console.log(`e2e: E2E_SLOW=1: ${hogs.count} busy processes (one per core) for the whole run`);
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  const iterations: string[] = [];
  try {
    fs.rmSync(shotsRoot, { recursive: true, force: true });
    for (let i = 1; i <= repeat; i++) {
      if (repeat > 1) {
        shots = path.join(shotsRoot, String(i));
        console.log(`e2e: iteration ${i}/${repeat}`);
      }
      const t = Date.now();
      const outcomes = await runSuite(binary, repeat > 1 ? `iteration ${i}/${repeat}: ` : '');
      const bad = outcomes.filter((o) => !o.ok).length;
      passed += outcomes.length - bad;
      failed += bad;
      iterations.push(
        `${i}: ${outcomes.length - bad} passed, ${bad} failed (${Math.round((Date.now() - t) / 1000)} s)`,
      );
    }
  } finally {
    hogs?.stop();
  }
  if (repeat > 1)
    console.log(`e2e: ${repeat} iterations in ${Math.round((Date.now() - t0) / 1000)} s: ${iterations.join('; ')}`);
  if (repeat > 1) console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** A fresh copy of the fixture workspace per page: the repository is never modified. */
function copyWorkspace(runDir: string, name: string): string {
  const target = path.join(runDir, `workspace-${name}`);
  fs.cpSync(fixture, target, { recursive: true });
  return target;
}

function workbenchUrl(server: CodeServer, folder: string, payload: Array<[string, string]>): string {
  return `${server.base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function remote(server: CodeServer, file: string): string {
  return `vscode-remote://${server.authority}${file}`;
}

/**
 * Runs journeys in order in one workbench window on `folder` (the extension under development is loaded from the
 * repository's built dist/, no packaging needed). After a failure: with `recover`, the workbench is brought back to a
 * known state and the next journey runs (each makes its own preconditions); without it, the rest build on what failed
 * and are reported as not run.
 */
async function runWindow(
  browser: Browser,
  server: CodeServer,
  folder: string,
  list: Journey[],
  outcomes: Outcome[],
  options: { failShot: string; recover?: (page: Page) => Promise<void> },
): Promise<void> {
  const page = await openWindow(browser, server, folder);
  await runList(list, () => ({ page, folder }), outcomes, options);
  await page.context().close();
}

/** A workbench window on `folder` in its own browser context, with the extension under development. */
async function openWindow(browser: Browser, server: CodeServer, folder: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(workbenchUrl(server, folder, [['extensionDevelopmentPath', remote(server, repo)]]));
  return page;
}

/** Runs journeys in order, each in the window `windowOf` gives it (runWindow says what happens after a failure). */
async function runList<J extends Journey>(
  list: J[],
  windowOf: (journey: J) => { page: Page; folder: string },
  outcomes: Outcome[],
  options: { failShot: string; recover?: (page: Page) => Promise<void> },
): Promise<void> {
  let broken: string | undefined;
  for (const [i, journey] of list.entries()) {
    const { page, folder } = windowOf(journey);
    const t = Date.now();
    if (broken) {
      outcomes.push({
        name: journey.name,
        ok: false,
        ms: 0,
        error: `not run: an earlier journey failed ("${broken}") and left the workbench in an unknown state`,
      });
      console.log(`FAIL ${journey.name}: not run, an earlier journey failed`);
      continue;
    }
    try {
      await journey.run(page, (name) => shot(page, name));
      outcomes.push({ name: journey.name, ok: true, ms: Date.now() - t });
      console.log(`PASS ${journey.name} (${Date.now() - t} ms)`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({ name: journey.name, ok: false, ms: Date.now() - t, error: message });
      console.log(`FAIL ${journey.name}: ${message}`);
      await shot(page, `fail-${options.failShot}${String(i + 1).padStart(2, '0')}`);
      // What CI's output alone must show to tell why: the notifications on screen and the window's runtime log.
      const shown = await visibleNotifications(page).catch((e: unknown) => [`(could not read them: ${String(e)})`]);
      console.log(`  notifications: ${shown.length === 0 ? 'none' : shown.map((t) => `"${t}"`).join('; ')}`);
      console.log(runtimeLogTail(userDataDir(path.dirname(folder)), folder));
      if (options.recover)
        await options
          .recover(page)
          .catch((e: unknown) => console.log(`e2e: recovering after "${journey.name}" failed: ${String(e)}`));
      else broken = journey.name;
    }
  }
}

/** The language-server journeys (journeys.ts) on the fixture workspace; each leaves the editor as the next expects. */
function runJourneys(browser: Browser, server: CodeServer, folder: string, outcomes: Outcome[]): Promise<void> {
  return runWindow(browser, server, folder, journeys, outcomes, { failShot: '' });
}

/** The recommender journeys (journeysRecommender.ts) on a reduced copy of samples/recommender; a failure skips nothing. */
function runRecommenderJourneys(
  browser: Browser,
  server: CodeServer,
  runDir: string,
  outcomes: Outcome[],
): Promise<void> {
  const folder = path.join(runDir, 'workspace-recommender');
  prepareRecommenderWorkspace(folder);
  return runWindow(browser, server, folder, recommenderJourneys(folder), outcomes, {
    failShot: 'r',
    recover: recoverRecommender,
  });
}

/**
 * The deploy journeys (journeysDeploy.ts) on a copy of samples/credit. They build on each other (a registered model,
 * then a deployment, then its traffic), so after a failure the rest are reported as not run.
 */
function runDeployJourneys(browser: Browser, server: CodeServer, runDir: string, outcomes: Outcome[]): Promise<void> {
  const folder = path.join(runDir, 'workspace-credit');
  prepareDeployWorkspace(folder);
  return runWindow(browser, server, folder, deployJourneys(folder), outcomes, { failShot: 'd' });
}

function slurmConfLink(runDir: string): string {
  return path.join(runDir, 'slurm.conf');
}

/**
 * A part's server (a Slurm or PostgreSQL cluster) started, or undefined with the part's failure reported: the parts
 * after it still run.
 */
async function started<T>(
  part: string,
  what: string,
  start: () => Promise<T>,
  outcomes: Outcome[],
): Promise<T | undefined> {
  const t = Date.now();
  try {
    return await start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    outcomes.push({ name: `${part}: ${what} starts`, ok: false, ms: Date.now() - t, error: message });
    console.log(`FAIL ${part}: ${what} did not start: ${message}`);
    return undefined;
  }
}

/**
 * The Slurm journeys (journeysCluster.ts) on a real single-node cluster started for them and stopped after, also when
 * they fail; the code-server's SLURM_CONF is linked to its slurm.conf meanwhile. The second journey builds on the
 * first's workbench, so after a failure the rest are reported as not run.
 */
async function runSlurmJourneys(
  browser: Browser,
  server: CodeServer,
  runDir: string,
  outcomes: Outcome[],
): Promise<void> {
  const cluster = await started('slurm', 'the Slurm cluster', startSlurm, outcomes);
  if (!cluster) return;
  try {
    fs.symlinkSync(cluster.conf, slurmConfLink(runDir));
    const folder = prepareSlurmWorkspace(runDir, cluster);
    await runWindow(browser, server, folder, slurmJourneys(folder, cluster), outcomes, { failShot: 's' });
  } finally {
    // Jobs still queued (a failed journey) would hold the daemons' folder: cancelled before the cluster stops.
    try {
      cluster.client('scancel', ['--user=root']);
    } catch (error) {
      console.log(`e2e: scancel before stopping the Slurm cluster: ${String(error)}`);
    }
    fs.rmSync(slurmConfLink(runDir), { force: true });
    await cluster.stop();
  }
}

/**
 * The team journeys (journeysTeam.ts): a throwaway PostgreSQL cluster (test/lib/postgres.ts), stopped after, also
 * when they fail; alice's and bob's windows open side by side (two browser contexts on the same code-server) and the
 * journeys build on each other, so after a failure the rest are reported as not run.
 */
async function runTeamJourneys(
  browser: Browser,
  server: CodeServer,
  runDir: string,
  outcomes: Outcome[],
): Promise<void> {
  const cluster = await started('team', 'the PostgreSQL cluster', postgresCluster, outcomes);
  if (!cluster) return;
  const pages: Partial<Record<Member, Page>> = {};
  try {
    const team = await prepareTeam(runDir, cluster);
    const [alice, bob] = await Promise.all([
      openWindow(browser, server, team.folders.alice),
      openWindow(browser, server, team.folders.bob),
    ]);
    pages.alice = alice;
    pages.bob = bob;
    const windows = {
      alice: { page: alice, folder: team.folders.alice },
      bob: { page: bob, folder: team.folders.bob },
    };
    await runList(teamJourneys(team), (j) => windows[j.who], outcomes, { failShot: 't' });
  } finally {
    for (const page of Object.values(pages))
      await page
        .context()
        .close()
        .catch(() => undefined);
    cluster.stop();
  }
}

async function runExtensionSuite(
  browser: Browser,
  server: CodeServer,
  folder: string,
  resultFile: string,
  outcomes: Outcome[],
): Promise<void> {
  const t = Date.now();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  let finish: (code: number | 'timeout') => void = () => undefined;
  const exited = new Promise<number | 'timeout'>((resolve) => (finish = resolve));
  // VS Code's test runner reports through these two functions when they exist on the page (code automation).
  await page.exposeFunction('codeAutomationLog', (_type: string, args: unknown[]) => {
    const text = (args ?? [])
      .map((a) => (typeof a === 'string' ? a.replace(/^%c\s*/, '') : JSON.stringify(a)))
      .join(' ');
    if (/^(PASS|FAIL|extension suite:)/.test(text)) console.log(`  ${text}`);
  });
  await page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
  const suite = path.join(repo, 'dist', 'test', 'extensionSuite.js');
  await page.goto(
    workbenchUrl(server, folder, [
      ['extensionDevelopmentPath', remote(server, repo)],
      ['extensionTestsPath', remote(server, suite)],
    ]),
  );
  const timer = setTimeout(() => finish('timeout'), 300_000);
  const code = await exited;
  clearTimeout(timer);
  // The extension host is gone once the suite exits, so a screenshot now would show empty views: only on failure.
  if (code !== 0) await shot(page, 'fail-extension-suite');
  await context.close();
  const result = readSuiteResult(resultFile);
  if (result) {
    for (const line of result.lines) {
      const ok = line.startsWith('PASS ');
      outcomes.push({ name: `extension host: ${line.slice(5)}`, ok, ms: 0, ...(ok ? {} : { error: line }) });
    }
  }
  if (!result || code !== 0) {
    if (!result || result.failed === 0)
      outcomes.push({ name: 'extension host suite', ok: false, ms: Date.now() - t, error: `exit ${code}` });
    console.log(`FAIL extension host suite: exit ${code} after ${Date.now() - t} ms`);
  } else {
    console.log(`PASS extension host suite: ${result.passed} tests (${Date.now() - t} ms)`);
  }
}

const suiteResultSchema = z.object({ passed: z.number().int(), failed: z.number().int(), lines: z.array(z.string()) });

function readSuiteResult(file: string): z.infer<typeof suiteResultSchema> | undefined {
  if (!fs.existsSync(file)) return undefined; // the suite never ran (the caller reports it)
  const parsed = suiteResultSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: unexpected suite result: ${parsed.error.message}`);
  return parsed.data;
}

async function shot(page: Page, name: string): Promise<void> {
  await page
    .screenshot({ path: path.join(shots, `${name}.png`) })
    .catch((e: unknown) => console.log(`e2e: screenshot ${name} failed: ${String(e)}`));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('e2e: harness crashed:', error);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
