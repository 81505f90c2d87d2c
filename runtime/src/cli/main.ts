import { runAsProcess, runCommand, type CliIo } from './command.js';
import { commands, hiddenCommands } from './commands/index.js';

declare const CAIRN_VERSION: string | undefined;

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    'cairn — pipelines, experiment tracking, lineage, serving and drift monitoring, locally.',
    '',
    'Usage: cairn <command> [options]   (every command takes --format json)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 ok, 1 findings or failure, 2 usage.',
    "Run `cairn <command> --help` for a command's options.",
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout(`${typeof CAIRN_VERSION === 'string' ? CAIRN_VERSION : 'dev'}\n`);
    return 0;
  }
  const command = [...commands, ...hiddenCommands].find((c) => c.name === name);
  if (!command) {
    io.stderr(`cairn: unknown command '${name}'.\n\n${help()}\n`);
    return 2;
  }
  return runCommand(command, rest, io);
}

/** Entry used by bin/cairn.js. */
export function cliEntry(): void {
  runAsProcess((io) => main(process.argv.slice(2), io));
}
