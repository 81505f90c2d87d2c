import * as fs from 'node:fs';
import Mocha from 'mocha';
import { defineCairnSuite } from './cairnSuite.js';
import { defineModelsSuite } from './modelsSuite.js';
import { defineRuntimeSuite } from './runtimeSuite.js';

/**
 * Entry of the extension-host suite (bundled by esbuild.mjs to dist/test/extensionSuite.js). VS Code calls `run()`
 * inside the real extension host — code-server through the URL payload here, desktop VS Code through
 * @vscode/test-electron (test/e2e/electron.ts). Results go to the console and, when CAIRN_E2E_RESULT names a file, to
 * that file as JSON for the driver.
 */
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000 });
  // CAIRN_E2E_GREP runs only the tests whose full title matches (while working on one suite).
  const grep = process.env['CAIRN_E2E_GREP'];
  if (grep) mocha.grep(grep);
  // The suite is bundled, not loaded from files: give it mocha's tdd globals, then let it declare its tests.
  mocha.suite.emit('pre-require', globalThis, 'cairnSuite', mocha);
  defineCairnSuite();
  defineRuntimeSuite();
  defineModelsSuite();
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const summary = `extension suite: ${passed} passed, ${failed} failed`;
      console.log(summary);
      const out = process.env['CAIRN_E2E_RESULT'];
      if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed, lines }, null, 2));
      if (failures > 0) reject(new Error(summary));
      else resolve();
    });
    runner.on('pass', (t) => {
      passed++;
      lines.push(`PASS ${t.fullTitle()}`);
      console.log(`PASS ${t.fullTitle()}`);
    });
    runner.on('fail', (t, err: unknown) => {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      lines.push(`FAIL ${t.fullTitle()}: ${message}`);
      console.log(`FAIL ${t.fullTitle()}: ${message}`);
    });
  });
}
