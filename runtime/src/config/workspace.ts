import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import {
  workspaceConfigFile,
  workspaceConfigKeys,
  workspaceConfigSchema,
  type ExecutorName,
  type WorkspaceConfig,
} from '@cairn/protocol/config.js';
import { CairnError } from '../util/errors.js';

/** `.cairn/config.yaml` that does not parse or does not fit the schema: names file, line and what to do. */
export class ConfigError extends CairnError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'ConfigError';
  }
}

/** Where a setting's value came from (shown by `cairn store info` and in errors). */
export type SettingSource = 'flag' | 'env' | 'config' | 'default';

export interface Setting<T> {
  readonly value: T;
  readonly source: SettingSource;
  /** The flag, variable or file (with line) the value was read from. */
  readonly from: string;
}

export interface WorkspaceSettings {
  readonly workspace: string;
  /** The parsed file (empty when there is none). */
  readonly config: WorkspaceConfig;
  /** Tracking store URL or SQLite path; `undefined` value: the embedded default `.cairn/cairn.db`. */
  readonly store: Setting<string | undefined>;
  /** Shared artifact remote; `undefined` value: none. */
  readonly remote: Setting<string | undefined>;
  readonly executor: Setting<ExecutorName>;
}

/** Settings given on the command line (flags win over everything). */
export interface SettingFlags {
  store?: string;
  remote?: string;
  executor?: string;
}

/** The environment variables, once. */
export const settingEnv = { store: 'CAIRN_STORE_URL', remote: 'CAIRN_REMOTE', executor: 'CAIRN_EXECUTOR' } as const;

/** Reads `.cairn/config.yaml` of a workspace; a missing file is an empty configuration. */
export function readWorkspaceConfig(workspace: string): {
  config: WorkspaceConfig;
  file?: string;
  lines: Map<string, number>;
} {
  const file = path.join(workspace, workspaceConfigFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, lines: new Map() };
    throw new ConfigError(`cannot read ${workspaceConfigFile}: ${(error as Error).message}`);
  }
  return { ...parseWorkspaceConfig(text, workspaceConfigFile), file };
}

/** The keys a value can be given at, from the schema: `store.url, …, executor (local|slurm), …`. */
const allowedKeys = workspaceConfigKeys
  .filter((k) => k.type !== 'section')
  .map((k) => (k.type === 'choice' ? `${k.path} (${(k.values ?? []).join('|')})` : k.path))
  .join(', ');

/** Parses the text of a configuration file; `name` is how errors name the file. */
export function parseWorkspaceConfig(
  text: string,
  name: string,
): { config: WorkspaceConfig; lines: Map<string, number> } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  const first = doc.errors[0];
  if (first) {
    throw new ConfigError(
      `${name}:${lineOf(first.pos[0])}: not valid YAML (${first.code.toLowerCase().replace(/_/g, ' ')}); fix the syntax at that line`,
    );
  }
  const value: unknown = doc.toJS() ?? {};
  const lines = new Map<string, number>();
  collectLines(doc.contents, '', lines, lineOf);
  const parsed = workspaceConfigSchema.safeParse(value);
  if (!parsed.success) {
    // A misspelt key first: it explains the "missing" key zod also reports for the same section.
    const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0];
    const at = (issue?.path ?? []).map(String);
    const key = at.join('.');
    const unknown = issue?.code === 'unrecognized_keys' ? [...at, issue.keys[0] ?? ''].join('.') : key;
    const line = lines.get(unknown) ?? lines.get(key) ?? lines.get(at.slice(0, -1).join('.')) ?? 1;
    const what =
      issue?.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
    throw new ConfigError(`${name}:${line}: ${key ? `${key}: ` : ''}${what}; allowed keys: ${allowedKeys}`);
  }
  return { config: parsed.data, lines };
}

function collectLines(
  node: unknown,
  prefix: string,
  out: Map<string, number>,
  lineOf: (offset: number) => number,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const name = key && 'value' in key ? String((key as { value: unknown }).value) : '';
      const at = prefix ? `${prefix}.${name}` : name;
      if (key?.range) out.set(at, lineOf(key.range[0]));
      collectLines(pair.value, at, out, lineOf);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const at = `${prefix}.${i}`;
      const range = (item as Node | null)?.range;
      if (range) out.set(at, lineOf(range[0]));
      collectLines(item, at, out, lineOf);
    });
  }
}

/**
 * The settings of a workspace: flag > environment > `.cairn/config.yaml` > default. Throws ConfigError for a file
 * that does not parse or an executor that does not exist.
 */
export function workspaceSettings(
  workspace: string,
  flags: SettingFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): WorkspaceSettings {
  const { config, lines } = readWorkspaceConfig(workspace);
  const at = (key: string) => `${workspaceConfigFile}:${lines.get(key) ?? 1}`;
  function pick(
    name: keyof typeof settingEnv,
    fromFile: string | undefined,
    fileKey: string,
  ): Setting<string | undefined> {
    const f = flags[name];
    if (f !== undefined && f !== '') return { value: f, source: 'flag', from: `--${name}` };
    const e = env[settingEnv[name]];
    if (e !== undefined && e !== '') return { value: e, source: 'env', from: settingEnv[name] };
    if (fromFile !== undefined) return { value: fromFile, source: 'config', from: at(fileKey) };
    return { value: undefined, source: 'default', from: 'default' };
  }
  const store = pick('store', config.store?.url, 'store.url');
  const remote = pick('remote', config.remote?.url, 'remote.url');
  const ex = pick('executor', config.executor, 'executor');
  const value = ex.value ?? 'local';
  if (value !== 'local' && value !== 'slurm') {
    throw new ConfigError(`${ex.from}: unknown executor ${JSON.stringify(value)}; use local or slurm`);
  }
  return { workspace, config, store, remote, executor: { ...ex, value } };
}
