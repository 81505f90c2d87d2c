import type { z } from 'zod';
import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { PipelineCode, type PipelineCode as Code } from './codes.js';
import { describeType, objectKeys, schemaAt } from './schema.js';
import { closest, suggestionFix } from './suggest.js';
import { makeDiagnostic, toValue, type YEntry, type YNode } from './yamlTree.js';

type Path = ReadonlyArray<PropertyKey>;

interface Located {
  node?: YNode;
  /** The entry whose value is `node` (when the last path element is a key). */
  entry?: YEntry;
  /** The deepest existing node on the path, and its entry key span (for "missing key" findings). */
  parentSpan: Span;
}

function locate(root: YNode, ownerKeySpan: Span, path: Path): Located {
  let node: YNode | undefined = root;
  let entry: YEntry | undefined;
  let parentSpan = ownerKeySpan;
  for (const k of path) {
    if (!node) break;
    if (node.kind === 'map' && typeof k === 'string') {
      entry = node.entries.find((e) => e.key === k);
      if (entry) parentSpan = entry.keySpan;
      node = entry?.value;
    } else if (node.kind === 'seq' && typeof k === 'number') {
      entry = undefined;
      node = node.items[k];
      if (node) parentSpan = node.span;
    } else {
      node = undefined;
      entry = undefined;
    }
  }
  return { node, entry, parentSpan };
}

function label(ownerKey: string, path: Path): string {
  let out = ownerKey;
  for (const k of path) out = typeof k === 'number' ? `${out}[${k}]` : String(k);
  return out;
}

function kindOf(node: YNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'nothing';
  if (typeof v === 'string') return `the string '${v.length > 40 ? v.slice(0, 37) + '...' : v}'`;
  if (typeof v === 'boolean') return String(v);
  return Number.isFinite(v) ? `the number ${v}` : String(v);
}

function valueSpan(loc: Located): Span {
  const n = loc.node;
  if (!n) return loc.parentSpan;
  if (n.span.end > n.span.start) return n.span;
  return loc.entry?.keySpan ?? loc.parentSpan;
}

export interface IssueCodes {
  /** What the keys are called in messages ('key', or 'option' of a built-in). */
  noun: string;
  unknownKey: Code;
  missingKey: Code;
  wrongType: Code;
  invalidValue: Code;
}

export const structureCodes: IssueCodes = {
  noun: 'key',
  unknownKey: PipelineCode.unknownKey,
  missingKey: PipelineCode.missingKey,
  wrongType: PipelineCode.wrongType,
  invalidValue: PipelineCode.invalidValue,
};

/**
 * Checks `node` against `schema` and maps each zod issue to the exact key or value span it concerns.
 * `value` is the node's plain value unless the caller substituted interpolations.
 */
export function checkWithZod(
  schema: z.ZodType,
  node: YNode,
  ownerKey: string,
  ownerKeySpan: Span,
  out: CairnDiagnostic[],
  codes: IssueCodes = structureCodes,
  value: unknown = toValue(node),
): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  for (const issue of result.error.issues) mapIssue(schema, node, ownerKey, ownerKeySpan, issue, [], out, codes, value);
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  errors?: Issue[][];
  expected?: string;
}

function mapIssue(
  schema: z.ZodType,
  root: YNode,
  ownerKey: string,
  ownerKeySpan: Span,
  raw: z.core.$ZodIssue,
  prefix: PropertyKey[],
  out: CairnDiagnostic[],
  codes: IssueCodes,
  rootValue: unknown,
): void {
  const issue = raw as unknown as Issue;
  const path = [...prefix, ...issue.path];
  const loc = locate(root, ownerKeySpan, path);
  const schemaPath = path.filter((k): k is string | number => typeof k === 'string' || typeof k === 'number');
  const what = label(ownerKey, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = Object.keys(objectKeys(schemaAt(schema, schemaPath)?.schema ?? schemaOf(schema)) ?? {});
      for (const key of issue.keys ?? []) {
        const entry = loc.node?.kind === 'map' ? loc.node.entries.find((e) => e.key === key) : undefined;
        const span = entry?.keySpan ?? loc.parentSpan;
        const suggestion = closest(key, allowed);
        const where = path.length === 0 ? `in '${ownerKey}'` : `in '${what}'`;
        out.push(
          makeDiagnostic(
            codes.unknownKey,
            `Unknown ${codes.noun} '${key}' ${where}${suggestion ? `: did you mean '${suggestion}'?` : ''}${allowed.length > 0 && !suggestion ? ` (allowed: ${allowed.join(', ')})` : ''}`,
            span,
            suggestionFix(span, suggestion),
          ),
        );
      }
      return;
    }
    case 'invalid_union': {
      // Report the branch that matched the value's shape (an object for a mapping...), else a type mismatch.
      if (loc.node && issue.errors) {
        const shape = loc.node.kind;
        const branch =
          shape === 'scalar'
            ? undefined
            : issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
        if (branch) {
          for (const e of branch)
            mapIssue(
              schema,
              root,
              ownerKey,
              ownerKeySpan,
              e as unknown as z.core.$ZodIssue,
              path,
              out,
              codes,
              rootValue,
            );
          return;
        }
      }
      typeIssue(schema, schemaPath, loc, what, out, codes, rootValue);
      return;
    }
    case 'invalid_type':
      typeIssue(schema, schemaPath, loc, what, out, codes, rootValue);
      return;
    case 'invalid_value': {
      if (!loc.node) {
        typeIssue(schema, schemaPath, loc, what, out, codes, rootValue);
        return;
      }
      const values = (issue.values ?? []).map((v) => String(v));
      const span = valueSpan(loc);
      const found = loc.node.kind === 'scalar' ? String(loc.node.value) : '';
      const suggestion =
        loc.node.kind === 'scalar' && typeof loc.node.value === 'string' ? closest(found, values) : undefined;
      out.push(
        makeDiagnostic(
          codes.invalidValue,
          `'${what}' must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}, not ${kindOf(loc.node)}${suggestion ? `: did you mean '${suggestion}'?` : ''}`,
          span,
          suggestionFix(span, suggestion),
        ),
      );
      return;
    }
    default: {
      const message = issue.message.replace(/^Invalid input: /, '').replace(/^Too (small|big): /, '');
      out.push(makeDiagnostic(codes.invalidValue, `'${what}': ${lowerFirst(message)}`, valueSpan(loc)));
    }
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function schemaOf(s: z.ZodType): z.ZodType {
  return s;
}

function describeValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'string') return `the string '${v}'`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return v === null || v === undefined ? 'nothing' : 'a mapping';
}

function valueAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur = value;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function typeIssue(
  schema: z.ZodType,
  path: Array<string | number>,
  loc: Located,
  what: string,
  out: CairnDiagnostic[],
  codes: IssueCodes,
  rootValue?: unknown,
): void {
  const value = valueAt(rootValue, path);
  const info = schemaAt(schema, path);
  const expected = info ? describeType(info.schema) : 'another type';
  if (!loc.node) {
    const last = path[path.length - 1];
    out.push(
      makeDiagnostic(
        codes.missingKey,
        `Missing required ${codes.noun} '${String(last)}' (${expected}).`,
        loc.parentSpan,
      ),
    );
    return;
  }
  const n = loc.node;
  if (n.kind === 'scalar' && typeof n.value === 'string' && n.value.startsWith('${') && value !== n.value) {
    // The value comes from an interpolation: name what it resolves to.
    out.push(
      makeDiagnostic(
        codes.wrongType,
        `'${what}' must be ${expected}, but ${n.value} is ${describeValue(value)}.`,
        valueSpan(loc),
      ),
    );
    return;
  }
  out.push(makeDiagnostic(codes.wrongType, `'${what}' must be ${expected}, not ${kindOf(n)}.`, valueSpan(loc)));
}
