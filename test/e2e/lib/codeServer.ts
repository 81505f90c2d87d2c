import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CodeServer {
  /** http://127.0.0.1:PORT */
  base: string;
  /** Host:port as the browser sees it: the remote authority of vscode-remote:// URIs. */
  authority: string;
  stop(): Promise<void>;
}

/** Where code-server keeps settings and logs (`logs/…/Cairn Runtime.log` among them) for a run in `runDir`. */
export function userDataDir(runDir: string): string {
  return path.join(runDir, 'user-data');
}

/**
 * Starts code-server on a free loopback port (port 0: the OS picks, code-server prints it) and resolves once it
 * listens. Everything it writes (settings, extensions, logs) stays under `runDir`.
 */
export async function startCodeServer(
  binary: string,
  runDir: string,
  env: Record<string, string>,
): Promise<CodeServer> {
  const userData = userDataDir(runDir);
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(path.join(runDir, 'extensions'), { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'security.workspace.trust.enabled': false,
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    'editor.minimap.enabled': false,
    'window.restoreWindows': 'none',
    // Only Cairn's completions, so the journey cannot pass on words VS Code collects from the file.
    'editor.wordBasedSuggestions': 'off',
  };
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const config = path.join(runDir, 'config.yaml');
  fs.writeFileSync(config, 'auth: none\n');
  const log = { fd: fs.openSync(path.join(runDir, 'code-server.log'), 'w'), open: true };
  const child = spawn(
    binary,
    [
      '--config',
      config,
      '--bind-addr',
      '127.0.0.1:0',
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      path.join(runDir, 'extensions'),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
        XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
        ...env,
      },
      detached: true, // its own process group, so stop() ends the extension host and language server too
    },
  );
  const base = await new Promise<string>((resolve, reject) => {
    let seen = '';
    let listening = false;
    const timer = setTimeout(
      () => reject(new Error(`code-server did not start within 60 s; see ${path.join(runDir, 'code-server.log')}`)),
      60_000,
    );
    const onData = (chunk: Buffer): void => {
      if (log.open) fs.writeSync(log.fd, chunk);
      if (listening) return;
      seen += chunk.toString('utf8');
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m?.[1]) {
        listening = true;
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening; see ${path.join(runDir, 'code-server.log')}`));
    });
  });
  return { base, authority: new URL(base).host, stop: () => stopGroup(child, log) };
}

async function stopGroup(child: ChildProcess, log: { fd: number; open: boolean }): Promise<void> {
  if (child.exitCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  log.open = false;
  fs.closeSync(log.fd);
}
