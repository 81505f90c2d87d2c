/** One `cairn` sub-command. Exit codes (docs/cli.md): 0 ok, 1 findings or failure, 2 usage. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Working directory the command resolves relative paths against. */
  cwd: string;
  /** stdout is a terminal: live progress and colour are allowed. */
  isTty: boolean;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

export class UsageError extends Error {}

/** Runs one command: `--help`, and its errors as exit codes (a usage error 2 with the usage, any other 1). */
export async function runCommand(command: CliCommand, args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`cairn ${command.name}: ${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    io.stderr(`cairn ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** This process's stdio as a command's io; the exit code goes to process.exitCode. */
export function runAsProcess(main: (io: CliIo) => Promise<number>): void {
  const io: CliIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    isTty: process.stdout.isTTY === true,
  };
  main(io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`cairn: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Parses `--flag value`, `--flag=value`, boolean `--flag`, repeated `-p k=v`; the rest are positionals. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(args: string[], spec: { boolean?: string[]; value?: string[] }): ParsedArgs {
  const boolean = new Set(spec.boolean ?? []);
  const value = new Set(spec.value ?? []);
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
    if (boolean.has(key)) {
      if (eq > 0) throw new UsageError(`${a}: --${key} takes no value`);
      add(key, 'true');
    } else if (value.has(key)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      add(key, v);
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  return { positionals, flags };
}

export function flag(parsed: ParsedArgs, key: string): string | undefined {
  const v = parsed.flags.get(key);
  return v?.[v.length - 1];
}

export function formatOf(parsed: ParsedArgs): 'json' | 'text' {
  const f = flag(parsed, 'format') ?? 'text';
  if (f !== 'json' && f !== 'text') throw new UsageError(`--format must be json or text, not ${f}`);
  return f;
}
