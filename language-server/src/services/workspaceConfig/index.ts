import { closest, Severity, suggestionFix, type CairnDiagnostic, type Span } from '@cairn/protocol';
import {
  storeUrlKind,
  workspaceConfigKeys,
  workspaceConfigSchema,
  type WorkspaceConfigKey,
} from '@cairn/protocol/config.js';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { yamlContextAt } from '../modelCard/yamlContext.js';
import type { Completion, Hover, LanguageService } from '../types.js';

/**
 * The workspace configuration service (`.cairn/config.yaml`): checks the file against the one schema the runtime
 * reads it with (protocol/src/config.ts), completes its keys and choices, and shows each key's description on hover.
 */

export interface ParsedWorkspaceConfig {
  file: string;
  text: string;
  doc: Document;
}

/** A key of the file as written: its dotted path and where its key and value are. */
interface Entry {
  path: string[];
  key: Span;
  value?: Span;
}

const keyByPath = new Map(workspaceConfigKeys.map((k) => [k.path, k]));

function spanOf(node: Node | null | undefined): Span | undefined {
  const r = node?.range;
  return r ? { start: r[0], end: r[1] } : undefined;
}

/** Every key of the document with its position, parents before children (sequence items by index). */
function entries(doc: Document): Entry[] {
  const out: Entry[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const at = [...path, isScalar(key) ? String(key.value) : ''];
        const keySpan = spanOf(key);
        if (keySpan === undefined) continue;
        const value = spanOf(pair.value as Node | null);
        out.push(value === undefined ? { path: at, key: keySpan } : { path: at, key: keySpan, value });
        walk(pair.value, at);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const span = spanOf(item as Node | null);
        const at = [...path, String(i)];
        if (span) out.push({ path: at, key: span, value: span });
        walk(item, at);
      });
    }
  };
  walk(doc.contents, []);
  return out;
}

const samePath = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

const childrenOf = (parent: string): WorkspaceConfigKey[] =>
  workspaceConfigKeys.filter((k) => {
    const cut = k.path.lastIndexOf('.');
    return (cut < 0 ? '' : k.path.slice(0, cut)) === parent;
  });

const describeType = (value: unknown): string =>
  value === null ? 'nothing' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a section' : typeof value;

const expectedOf = (k: WorkspaceConfigKey | undefined): string =>
  k === undefined
    ? 'a section of keys'
    : k.type === 'section'
      ? 'a section of keys (indented below it)'
      : k.type === 'choice'
        ? `one of ${(k.values ?? []).join(', ')}`
        : k.type === 'list of strings'
          ? 'a list of strings'
          : 'a string';

function diagnostics(parsed: ParsedWorkspaceConfig): CairnDiagnostic[] {
  const { doc, text } = parsed;
  const whole = { start: 0, end: text.length };
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({
      code: 'config/yaml',
      severity: Severity.Error,
      message: `Not valid YAML (${e.code.toLowerCase().replace(/_/g, ' ')}): ${e.message.split('\n')[0] ?? ''}`,
      span: { start: e.pos[0], end: Math.max(e.pos[1], e.pos[0] + 1) },
    }));
  }
  const all = entries(doc);
  const find = (path: readonly string[]): Entry | undefined => all.find((e) => samePath(e.path, path));
  const value: unknown = doc.toJS() ?? {};
  const out: CairnDiagnostic[] = [];
  const parsedConfig = workspaceConfigSchema.safeParse(value);
  const issues = parsedConfig.success ? [] : parsedConfig.error.issues;
  const unknownIn = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.join('.')));
  for (const issue of issues) {
    const at = issue.path.map(String);
    const name = at.join('.');
    const entry = find(at);
    const where = entry?.value ?? entry?.key ?? whole;
    if (issue.code === 'unrecognized_keys') {
      const allowed = childrenOf(name).map((k) => k.path.slice(name ? name.length + 1 : 0));
      for (const key of issue.keys) {
        const span = find([...at, key])?.key ?? where;
        const s = closest(key, allowed);
        out.push({
          code: 'config/unknown-key',
          severity: Severity.Error,
          message:
            `Unknown key '${key}'${name ? ` in ${name}` : ''}` +
            (s ? `: did you mean '${s}'?` : ` (allowed: ${allowed.join(', ')})`),
          span,
          ...suggestionFix(span, s),
        });
      }
    } else if (issue.code === 'invalid_value') {
      const allowed = issue.values.map(String);
      const written = String(at.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value));
      const s = closest(written, allowed);
      out.push({
        code: 'config/bad-value',
        severity: Severity.Error,
        message: `${name}: '${written}' is not one of ${allowed.join(', ')}${s ? `: did you mean '${s}'?` : ''}`,
        span: where,
        ...suggestionFix(where, s),
      });
    } else if (issue.code === 'invalid_type') {
      const got = at.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
      if (got === undefined) {
        // A required key is missing: said at its section's key, unless a misspelt key there already says it.
        const section = at.slice(0, -1);
        if (unknownIn.has(section.join('.'))) continue;
        out.push({
          code: 'config/missing-key',
          severity: Severity.Error,
          message: `${section.join('.') || 'The file'}: missing key ${at[at.length - 1] ?? ''} (${keyByPath.get(name)?.description ?? ''})`,
          span: find(section)?.key ?? whole,
        });
        continue;
      }
      out.push({
        code: 'config/wrong-type',
        severity: Severity.Error,
        message: `${name || 'The file'}: expected ${expectedOf(keyByPath.get(name))}, found ${describeType(got)}`,
        span: where,
      });
    } else {
      // Empty strings, a malformed slurm.time: the zod message, and what the key expects.
      const expects = keyByPath.get(name)?.description;
      out.push({
        code: 'config/bad-value',
        severity: Severity.Error,
        message: `${name}: ${issue.message}${expects ? ` (${expects})` : ''}`,
        span: where,
      });
    }
  }
  out.push(...storeUrlFindings(text, value, find([...storeUrlPath])));
  return out;
}

const storeUrlPath = ['store', 'url'] as const;

/** store.url: the runtime's classification (a postgres:// URL or a path), and no password written in the file. */
function storeUrlFindings(text: string, value: unknown, entry: Entry | undefined): CairnDiagnostic[] {
  const url = (value as { store?: { url?: unknown } } | null)?.store?.url;
  if (typeof url !== 'string' || url === '' || entry?.value === undefined) return [];
  const span = entry.value;
  const kind = storeUrlKind(url);
  if (kind.kind === 'bad-url')
    return [
      {
        code: 'config/store-url',
        severity: Severity.Error,
        message: 'store.url: not a valid URL; write postgres://USER@HOST:PORT/DATABASE or a path to a SQLite .db file',
        span,
      },
    ];
  if (kind.kind === 'unsupported-scheme')
    return [
      {
        code: 'config/store-url',
        severity: Severity.Error,
        message: `store.url: ${kind.scheme}:// is not supported; write postgres://USER@HOST:PORT/DATABASE or a path to a SQLite .db file`,
        span,
      },
    ];
  if (kind.kind === 'postgres' && kind.password) {
    // The password sits between the user's `:` and the `@`; the fix removes exactly that part.
    const m = /^(postgres(?:ql)?:\/\/[^:@/]*)(:[^@/]*)@/i.exec(url);
    const quoted = text[span.start] === '"' || text[span.start] === "'";
    const start = span.start + (quoted ? 1 : 0) + (m?.[1]?.length ?? 0);
    return [
      {
        code: 'config/store-password',
        severity: Severity.Warning,
        message:
          'store.url: a password is written in this file (anyone who reads it, or the repository, sees it): remove it ' +
          'and give it as CAIRN_STORE_URL or PGPASSWORD in your environment, ~/.pgpass, or Cairn: Set Store Password',
        span,
        ...(m?.[2] === undefined
          ? {}
          : {
              fixes: [
                {
                  title: 'Remove the password from store.url',
                  span: { start, end: start + m[2].length },
                  newText: '',
                  isPreferred: true,
                },
              ],
            }),
      },
    ];
  }
  return [];
}

function completions(parsed: ParsedWorkspaceConfig, offset: number): Completion[] {
  const { text, doc } = parsed;
  const ctx = yamlContextAt(text, { start: 0, end: text.length }, offset);
  const parent = ctx.path.join('.');
  if (ctx.on === 'key') {
    const present = new Set(
      entries(doc)
        .filter((e) => samePath(e.path.slice(0, -1), ctx.path))
        .map((e) => e.path[e.path.length - 1]),
    );
    const word = text.slice(ctx.span.start, ctx.span.end);
    let lineStart = ctx.span.start;
    while (lineStart > 0 && text[lineStart - 1] !== '\n') lineStart--;
    const indent = ' '.repeat(ctx.span.start - lineStart + 2);
    return childrenOf(parent)
      .map((k) => ({ k, name: k.path.slice(parent ? parent.length + 1 : 0) }))
      .filter(({ name }) => !present.has(name) || name === word)
      .map(({ k, name }, i) => ({
        label: name,
        kind: 'property',
        detail: k.type === 'choice' ? (k.values ?? []).join(' | ') : k.type,
        documentation: k.description,
        insertText: k.type === 'section' ? `${name}:\n${indent}` : `${name}: `,
        replace: ctx.span,
        sortText: String(i).padStart(3, '0'),
      }));
  }
  const key = keyByPath.get([...ctx.path, ctx.key ?? ''].join('.'));
  if (key?.type !== 'choice') return [];
  return (key.values ?? []).map((v) => ({ label: v, kind: 'value', detail: key.path, replace: ctx.span }));
}

function hover(parsed: ParsedWorkspaceConfig, offset: number): Hover | undefined {
  const entry = entries(parsed.doc).find((e) => offset >= e.key.start && offset <= e.key.end);
  const key = entry && keyByPath.get(entry.path.join('.'));
  if (entry === undefined || key === undefined) return undefined;
  const values = key.type === 'choice' ? ` — one of ${(key.values ?? []).map((v) => `\`${v}\``).join(', ')}` : '';
  return { contents: `**${key.path}** (${key.type})${values}\n\n${key.description}`, span: entry.key };
}

export const workspaceConfigService: LanguageService<ParsedWorkspaceConfig> = {
  parse: (file, text) => ({ file, text, doc: parseDocument(text, { uniqueKeys: true, prettyErrors: false }) }),
  diagnostics: (parsed) => diagnostics(parsed),
  completions: (parsed, offset) => completions(parsed, offset),
  hover: (parsed, offset) => hover(parsed, offset),
  definition: () => [],
  references: () => [],
  prepareRename: () => undefined,
  rename: () => ({ error: 'Nothing in .cairn/config.yaml can be renamed.' }),
  symbols: () => [],
  dependencies: () => [],
};
