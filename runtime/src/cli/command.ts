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
