import * as path from 'node:path';
import { Severity, type CairnDiagnostic } from '@cairn/protocol';
import type {
  FileSpan,
  LanguageService,
  OutlineSymbol,
  WorkspaceHost,
} from '../../../language-server/src/services/types.js';

/**
 * A tiny line language for testing the server's mechanics independently of the real services:
 * `key: value` lines; `bad` anywhere is an error with a preferred quick fix; `dep: FILE` makes FILE a dependency
 * (an error when it does not exist, or when its text contains `broken`); `ref: KEY` refers to a key; `throw` makes
 * every service call throw; `metric: M` reports the tracked value of model M.
 */
export interface FakeDoc {
  file: string;
  text: string;
  entries: Array<{
    key: string;
    value: string;
    keyStart: number;
    valueStart: number;
    lineStart: number;
    lineEnd: number;
  }>;
  /** The parse this one was made from (the server passes the previous parse back). */
  previous: FakeDoc | undefined;
}

export interface FakeStats {
  parses: number;
  parsesWithPrevious: number;
  diagnosticsCalls: number;
}

export function fakeService(
  name: string,
  stats: FakeStats = { parses: 0, parsesWithPrevious: 0, diagnosticsCalls: 0 },
): LanguageService<FakeDoc> & { stats: FakeStats } {
  const check = (doc: FakeDoc): void => {
    if (/^throw$/m.test(doc.text)) throw new Error(`${name}: asked to throw`);
  };
  const entryAt = (doc: FakeDoc, offset: number) =>
    doc.entries.find((e) => offset >= e.lineStart && offset <= e.lineEnd);
  const declarations = (doc: FakeDoc, key: string) => doc.entries.filter((e) => e.key === key);
  const uses = (doc: FakeDoc, key: string) => doc.entries.filter((e) => e.key === 'ref' && e.value === key);

  return {
    stats,
    parse(file, text, previous) {
      stats.parses++;
      if (previous) stats.parsesWithPrevious++;
      const entries: FakeDoc['entries'] = [];
      let lineStart = 0;
      for (const line of text.split('\n')) {
        const m = /^([A-Za-z_]\w*):[ \t]*(.*?)\r?$/.exec(line);
        if (m?.[1] !== undefined && m[2] !== undefined) {
          entries.push({
            key: m[1],
            value: m[2],
            keyStart: lineStart,
            valueStart: lineStart + line.indexOf(m[2], m[1].length + 1),
            lineStart,
            lineEnd: lineStart + line.length,
          });
        }
        lineStart += line.length + 1;
      }
      return { file, text, entries, previous };
    },
    diagnostics(doc, host) {
      stats.diagnosticsCalls++;
      check(doc);
      const found: CairnDiagnostic[] = [];
      for (const m of doc.text.matchAll(/\bbad\b/g)) {
        const start = m.index;
        found.push({
          code: `${name}-bad`,
          severity: Severity.Error,
          message: `"bad" is not allowed in a ${name}`,
          span: { start, end: start + 3 },
          fixes: [
            { title: 'Replace with "good"', span: { start, end: start + 3 }, newText: 'good', isPreferred: true },
            { title: 'Replace with "fine"', span: { start, end: start + 3 }, newText: 'fine' },
          ],
        });
      }
      for (const e of doc.entries) {
        if (e.key === 'dep') {
          const file = path.resolve(path.dirname(doc.file), e.value);
          const span = { start: e.valueStart, end: e.valueStart + e.value.length };
          if (!host.fileExists(file))
            found.push({
              code: `${name}-missing`,
              severity: Severity.Error,
              message: `${e.value} does not exist`,
              span,
            });
          else if (host.readText(file)?.includes('broken'))
            found.push({ code: `${name}-broken`, severity: Severity.Warning, message: `${e.value} is broken`, span });
        }
        if (e.key === 'card') {
          const pipelines = host.pipelinesNamingCard(doc.file);
          found.push({
            code: `${name}-card`,
            severity: Severity.Information,
            message: `card of ${pipelines.map((p) => path.basename(p)).join(', ')}`,
            span: { start: e.keyStart, end: e.keyStart + 4 },
          });
        }
        if (e.key === 'metric') {
          const value = host.trackedMetrics?.(e.value)?.['accuracy'];
          if (value !== undefined)
            found.push({
              code: `${name}-metric`,
              severity: Severity.Hint,
              message: `accuracy ${value}`,
              span: { start: e.valueStart, end: e.valueStart + e.value.length },
            });
        }
      }
      return found;
    },
    completions(doc, offset) {
      check(doc);
      const word = /\w*$/.exec(doc.text.slice(0, offset))?.[0] ?? '';
      return [
        {
          label: 'alpha',
          kind: 'property',
          detail: 'a key',
          documentation: '**alpha** docs',
          replace: { start: offset - word.length, end: offset },
        },
        { label: 'beta', kind: 'snippet', insertText: 'beta: ${1:value}', snippet: true },
      ];
    },
    hover(doc, offset) {
      check(doc);
      const e = entryAt(doc, offset);
      return e
        ? { contents: `**${e.key}** = ${e.value}`, span: { start: e.keyStart, end: e.keyStart + e.key.length } }
        : undefined;
    },
    definition(doc, offset, host: WorkspaceHost) {
      check(doc);
      const e = entryAt(doc, offset);
      if (!e) return [];
      if (e.key === 'dep') {
        const file = path.resolve(path.dirname(doc.file), e.value);
        return host.fileExists(file) ? [{ file, span: { start: 0, end: 0 } }] : [];
      }
      if (e.key !== 'ref') return [];
      return declarations(doc, e.value).map((d): FileSpan => ({
        file: doc.file,
        span: { start: d.keyStart, end: d.keyStart + d.key.length },
      }));
    },
    references(doc, offset, _host, includeDeclaration) {
      check(doc);
      const e = entryAt(doc, offset);
      if (!e) return [];
      const key = e.key === 'ref' ? e.value : e.key;
      const spans: FileSpan[] = uses(doc, key).map((u) => ({
        file: doc.file,
        span: { start: u.valueStart, end: u.valueStart + u.value.length },
      }));
      if (includeDeclaration)
        for (const d of declarations(doc, key))
          spans.unshift({ file: doc.file, span: { start: d.keyStart, end: d.keyStart + d.key.length } });
      return spans;
    },
    prepareRename(doc, offset) {
      check(doc);
      const e = entryAt(doc, offset);
      if (!e || e.key === 'ref' || e.key === 'dep') return undefined;
      return { start: e.keyStart, end: e.keyStart + e.key.length };
    },
    rename(doc, offset, newName) {
      check(doc);
      if (!/^[A-Za-z_]\w*$/.test(newName)) return { error: `"${newName}" is not a valid key name` };
      const e = entryAt(doc, offset);
      if (!e) return { error: 'nothing to rename here' };
      const key = e.key === 'ref' ? e.value : e.key;
      return {
        edits: [
          ...declarations(doc, key).map((d) => ({
            file: doc.file,
            span: { start: d.keyStart, end: d.keyStart + d.key.length },
            newText: newName,
          })),
          ...uses(doc, key).map((u) => ({
            file: doc.file,
            span: { start: u.valueStart, end: u.valueStart + u.value.length },
            newText: newName,
          })),
        ],
      };
    },
    symbols(doc) {
      check(doc);
      return doc.entries.map((e): OutlineSymbol => ({
        name: e.key,
        detail: e.value,
        kind: 'property',
        span: { start: e.lineStart, end: e.lineEnd },
        selectionSpan: { start: e.keyStart, end: e.keyStart + e.key.length },
        children: [],
      }));
    },
    dependencies(doc) {
      check(doc);
      return doc.entries.filter((e) => e.key === 'dep').map((e) => path.resolve(path.dirname(doc.file), e.value));
    },
  };
}
