import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

/**
 * The extension-host suite (extension-suite/) on desktop VS Code, for machines that can download it (test-electron
 * fetches VS Code at test time; this sandbox has no internet, so CI runs the same suite in code-server via run.sh).
 * Usage: node esbuild.mjs && node --import tsx test/e2e/electron.ts [vscode-version]
 */
async function main(): Promise<number> {
  const repo = path.resolve(__dirname, '..', '..');
  const suite = path.join(repo, 'dist', 'test', 'extensionSuite.js');
  if (!fs.existsSync(suite)) {
    console.error('e2e (electron): dist/test/extensionSuite.js is missing; run `node esbuild.mjs` first.');
    return 2;
  }
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-electron-'));
  const workspace = path.join(runDir, 'workspace');
  fs.cpSync(path.join(repo, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  const result = path.join(runDir, 'suite.json');
  try {
    await runTests({
      version: process.argv[2] ?? '1.100.3',
      extensionDevelopmentPath: repo,
      extensionTestsPath: suite,
      extensionTestsEnv: { CAIRN_E2E_RESULT: result },
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--user-data-dir',
        path.join(runDir, 'user-data'),
      ],
    });
    console.log(fs.existsSync(result) ? fs.readFileSync(result, 'utf8') : 'e2e (electron): the suite wrote no result');
    return 0;
  } catch (error) {
    console.error(`e2e (electron): ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

void main().then((code) => process.exit(code));
