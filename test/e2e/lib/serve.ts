import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { serveStartedSchema, type ServeStarted } from '@cairn/protocol';
import { firstLine } from '../../runtime/serve/fixture.js';

const cli = path.join(__dirname, '..', '..', '..', 'bin', 'cairn.js');

/** A `cairn serve` started in a terminal, as a user would: its listening line, and a stop that waits for its exit. */
export interface ServedCli {
  started: ServeStarted;
  /** What it wrote to stderr so far (its log: a 500's detail is there). */
  log(): string;
  stop(): Promise<void>;
}

/** Runs `cairn serve ARGS --port 0 --format json` in `folder` and resolves once it listens. */
export async function serveCli(folder: string, args: string[]): Promise<ServedCli> {
  const child = spawn(process.execPath, [cli, 'serve', ...args, '--port', '0', '--format', 'json'], {
    cwd: folder,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const started = serveStartedSchema.parse(JSON.parse(await firstLine(child)));
    return {
      started,
      log: () => log,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  } catch (error) {
    child.kill('SIGTERM');
    await exited;
    throw error;
  }
}
