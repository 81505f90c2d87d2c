import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { PipelineCode } from './codes.js';
import {
  dataEntrySchema,
  deploySchema,
  namePattern,
  paramLongSchema,
  paramTypes,
  stepSchema,
  topLevelShape,
} from './schema.js';
import { closest, suggestionFix } from './suggest.js';
import { isLongForm, paramFromNode, valueMatchesType } from './symbols.js';
import { checkWithZod } from './zodIssues.js';
import { makeDiagnostic, mapGet, toValue, type YEntry, type YMap, type YNode } from './yamlTree.js';

/**
 * The schema mapping: each top-level section and each step checked against its schema and the rules of its shape
 * (names, `run:` or `uses:`, param defaults of their declared type, data `path:` or `from:`). A function of one block
 * alone, without the catalogue of built-ins or other blocks: the incremental parse keeps these findings with the block.
 * Findings that need more than the block (references, built-in options, files) are check.ts's.
 */

export const topKeys = Object.keys(topLevelShape);

/**
 * Findings of one top-level entry. `split`: the steps were parsed apart as blocks of their own, so an empty `steps:`
 * header is expected here.
 */
export function checkTopEntry(entry: YEntry, out: CairnDiagnostic[], split: boolean): void {
  const key = entry.key;
  const value = entry.value;
  switch (key) {
    case 'version': {
      if (value.kind === 'scalar' && typeof value.value === 'number') {
        if (value.value !== 1)
          out.push(
            makeDiagnostic(
              PipelineCode.unsupportedVersion,
              `Unsupported version ${value.value}: this Cairn understands \`version: 1\`.`,
              value.span,
              { fixes: [{ title: 'Use version 1', span: value.span, newText: '1' }] },
            ),
          );
      } else checkWithZod(topLevelShape.version, value, key, entry.keySpan, out);
      return;
    }
    case 'name':
    case 'description':
      checkWithZod(topLevelShape[key], value, key, entry.keySpan, out);
      return;
    case 'params':
      checkParams(entry, out);
      return;
    case 'data':
      checkData(entry, out);
      return;
    case 'steps':
      if (value.kind === 'map') for (const s of value.entries) checkStepEntry(s, out);
      else if (!(split && value.kind === 'scalar' && value.value === null)) {
        out.push(
          makeDiagnostic(
            PipelineCode.wrongType,
            "'steps' must be a mapping of step name → step (`train: { uses: train.mlp, with: ... }`).",
            nonEmpty(value.span, entry.keySpan),
          ),
        );
      }
      return;
    case 'deploy':
      checkWithZod(deploySchema, value, key, entry.keySpan, out);
      return;
    case 'matrix':
      checkWithZod(topLevelShape.matrix, value, key, entry.keySpan, out);
      return;
    case 'allow_outside':
      checkWithZod(topLevelShape.allow_outside, value, key, entry.keySpan, out);
      if (value.kind === 'seq') {
        for (const item of value.items) {
          if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value.startsWith('/')) continue;
          const message =
            `'${item.value}' in allow_outside is not an absolute folder: ` +
            'write the full path of the read-only input (e.g. /mnt/shared/data).';
          out.push(makeDiagnostic(PipelineCode.invalidValue, message, item.span));
        }
      }
      return;
    default: {
      const suggestion = closest(key, topKeys);
      out.push(
        makeDiagnostic(
          PipelineCode.unknownKey,
          `Unknown key '${key}'${suggestion ? `: did you mean '${suggestion}'?` : ` (allowed at the top: ${topKeys.join(', ')})`}`,
          entry.keySpan,
          suggestionFix(entry.keySpan, suggestion),
        ),
      );
    }
  }
}

/** `version:` and `steps:` are required. */
export function checkRootKeys(root: YMap, out: CairnDiagnostic[]): void {
  const version = mapGet(root, 'version');
  const steps = mapGet(root, 'steps');
  const at = root.entries[0]?.keySpan ?? { start: 0, end: 0 };
  if (!version)
    out.push(
      makeDiagnostic(PipelineCode.missingKey, "Missing required key 'version': add `version: 1` at the top.", at, {
        fixes: [
          {
            title: 'Add `version: 1`',
            span: { start: root.span.start, end: root.span.start },
            newText: 'version: 1\n',
          },
        ],
      }),
    );
  if (!steps)
    out.push(
      makeDiagnostic(PipelineCode.missingKey, "Missing required key 'steps': a pipeline needs at least one step.", at),
    );
}

/** The file is empty, a list or a single value (not reported again on top of a YAML error). */
export function checkNotAMapping(root: YNode | undefined, diagnostics: CairnDiagnostic[]): void {
  if (diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) return;
  const empty = !root || (root.kind === 'scalar' && root.value === null);
  const span = !empty && root.span.end > root.span.start ? root.span : { start: 0, end: 0 };
  const what = empty ? 'empty' : root.kind === 'seq' ? 'a list' : 'a single value';
  diagnostics.push(
    makeDiagnostic(
      PipelineCode.notAMapping,
      `A pipeline is a mapping with \`version: 1\` and \`steps:\`, but this file is ${what}.`,
      span,
      {
        fixes:
          what === 'empty'
            ? [
                {
                  title: 'Insert a pipeline skeleton',
                  span: { start: 0, end: 0 },
                  newText: 'version: 1\nname: my-pipeline\nsteps:\n  hello:\n    run: echo hello\n',
                },
              ]
            : [],
      },
    ),
  );
}

function nonEmpty(span: Span, fallback: Span): Span {
  return span.end > span.start ? span : fallback;
}

/** Names that would alias JavaScript object machinery wherever names become keys (run records, env, exports). */
const reservedNames = new Set(['__proto__', 'constructor', 'prototype']);

function checkName(entry: YEntry, what: string, out: CairnDiagnostic[]): void {
  if (reservedNames.has(entry.key)) {
    out.push(
      makeDiagnostic(
        PipelineCode.invalidName,
        `'${entry.key}' is reserved: choose another ${what} name.`,
        entry.keySpan,
      ),
    );
  } else if (!namePattern.test(entry.key)) {
    out.push(
      makeDiagnostic(
        PipelineCode.invalidName,
        `Invalid ${what} name '${entry.key}': use letters, digits, '_' and '-', starting with a letter or '_'.`,
        entry.keySpan,
      ),
    );
  }
}

/** The entries of a top-level mapping section; empty (`params:`) is none, anything else than a mapping a finding. */
function sectionEntries(entry: YEntry, expected: string, out: CairnDiagnostic[]): YEntry[] {
  const v = entry.value;
  if (v.kind === 'map') return v.entries;
  if (!(v.kind === 'scalar' && v.value === null)) {
    out.push(makeDiagnostic(PipelineCode.wrongType, expected, nonEmpty(v.span, entry.keySpan)));
  }
  return [];
}

function checkParams(entry: YEntry, out: CairnDiagnostic[]): void {
  for (const p of sectionEntries(
    entry,
    "'params' must be a mapping of param name → default value (`lr: 0.01`).",
    out,
  )) {
    checkName(p, 'param', out);
    const node = p.value;
    if (isLongForm(node)) {
      checkWithZod(paramLongSchema, node, p.key, p.keySpan, out);
      const sym = paramFromNode(p);
      const def = mapGet(node, 'default');
      const typeEntry = mapGet(node, 'type');
      if (
        def &&
        typeEntry &&
        typeof toValue(typeEntry.value) === 'string' &&
        (paramTypes as readonly string[]).includes(String(toValue(typeEntry.value)))
      ) {
        if (!(def.value.kind === 'scalar' && def.value.value === null) && !valueMatchesType(sym.value, sym.type)) {
          out.push(
            makeDiagnostic(
              PipelineCode.paramType,
              `The default of '${p.key}' is not ${sym.type === 'int' ? 'an int' : `a ${sym.type}`}.`,
              nonEmpty(def.value.span, def.keySpan),
            ),
          );
        }
      }
      if (typeof sym.value === 'number') {
        const min = toValue(mapGet(node, 'min')?.value);
        const max = toValue(mapGet(node, 'max')?.value);
        if (typeof min === 'number' && sym.value < min)
          out.push(
            makeDiagnostic(
              PipelineCode.paramType,
              `The default of '${p.key}' (${sym.value}) is below its min ${min}.`,
              def?.value.span ?? p.keySpan,
            ),
          );
        if (typeof max === 'number' && sym.value > max)
          out.push(
            makeDiagnostic(
              PipelineCode.paramType,
              `The default of '${p.key}' (${sym.value}) is above its max ${max}.`,
              def?.value.span ?? p.keySpan,
            ),
          );
      }
      const values = toValue(mapGet(node, 'values')?.value);
      if (
        Array.isArray(values) &&
        def &&
        sym.value !== undefined &&
        sym.value !== null &&
        !values.includes(sym.value)
      ) {
        out.push(
          makeDiagnostic(
            PipelineCode.paramType,
            `The default of '${p.key}' is not one of its values (${values.join(', ')}).`,
            def.value.span,
          ),
        );
      }
      if (sym.secret && def && !(def.value.kind === 'scalar' && (def.value.value === null || def.value.value === ''))) {
        out.push(
          makeDiagnostic(
            PipelineCode.secretInFile,
            `'${p.key}' is secret but its default is written in the file: leave the default out and pass it per run (\`cairn run -p ${p.key}=...\`).`,
            def.value.span,
          ),
        );
      }
    } else if (node.kind === 'map') {
      out.push(
        makeDiagnostic(
          PipelineCode.paramType,
          `A map-valued param needs the long form: \`${p.key}: { type: map, default: { ... } }\`.`,
          p.keySpan,
        ),
      );
    } else if (node.kind === 'scalar' && node.value === null) {
      out.push(
        makeDiagnostic(
          PipelineCode.paramType,
          `Param '${p.key}' has no value: give a default (\`${p.key}: 0.1\`) or the long form \`{ type: float }\`.`,
          p.keySpan,
        ),
      );
    } else if (node.kind === 'scalar' && typeof node.value === 'number' && !Number.isFinite(node.value)) {
      out.push(makeDiagnostic(PipelineCode.paramType, `Param '${p.key}' is not a finite number.`, node.span));
    }
  }
}

function checkData(entry: YEntry, out: CairnDiagnostic[]): void {
  for (const d of sectionEntries(entry, "'data' must be a mapping of name → path or `{ path | from, schema }`.", out)) {
    checkName(d, 'data', out);
    checkWithZod(dataEntrySchema, d.value, d.key, d.keySpan, out);
    if (d.value.kind === 'map') {
      const hasPath = mapGet(d.value, 'path');
      const hasFrom = mapGet(d.value, 'from');
      if (hasPath && hasFrom)
        out.push(
          makeDiagnostic(
            PipelineCode.invalidValue,
            `Data '${d.key}' has both \`path\` and \`from\`: keep one.`,
            hasFrom.keySpan,
          ),
        );
      else if (!hasPath && !hasFrom)
        out.push(
          makeDiagnostic(
            PipelineCode.missingKey,
            `Data '${d.key}' needs \`path:\` (a file) or \`from:\` (a step output).`,
            d.keySpan,
          ),
        );
    }
  }
}

const runOnly = ['outs', 'params', 'metrics', 'env'] as const;

/** Findings of one step's block: its name, its schema, and the keys of a command step against a built-in step. */
export function checkStepEntry(entry: YEntry, out: CairnDiagnostic[]): void {
  checkName(entry, 'step', out);
  const v = entry.value;
  if (v.kind !== 'map') {
    out.push(
      makeDiagnostic(
        PipelineCode.wrongType,
        `Step '${entry.key}' must be a mapping with \`run:\` (a command) or \`uses:\` (a built-in).`,
        nonEmpty(v.span, entry.keySpan),
      ),
    );
    return;
  }
  checkWithZod(stepSchema, v, entry.key, entry.keySpan, out);
  const run = mapGet(v, 'run');
  const uses = mapGet(v, 'uses');
  if (run && uses)
    out.push(
      makeDiagnostic(
        PipelineCode.invalidStep,
        `Step '${entry.key}' has both \`run:\` and \`uses:\`: a step is a command or a built-in, not both.`,
        uses.keySpan,
      ),
    );
  else if (!run && !uses)
    out.push(
      makeDiagnostic(
        PipelineCode.invalidStep,
        `Step '${entry.key}' needs \`run:\` (a command) or \`uses:\` (a built-in).`,
        entry.keySpan,
      ),
    );
  if (run && !uses) {
    const w = mapGet(v, 'with');
    if (w)
      out.push(
        makeDiagnostic(
          PipelineCode.invalidStep,
          '`with:` gives options to a built-in: it needs `uses:`, not `run:`.',
          w.keySpan,
        ),
      );
  }
  if (uses && !run) {
    for (const k of runOnly) {
      const e = mapGet(v, k);
      if (e)
        out.push(
          makeDiagnostic(
            PipelineCode.invalidStep,
            `\`${k}:\` belongs to command steps (\`run:\`); a built-in declares its own${k === 'outs' ? ' outputs (use `outputs: [name, ...]`)' : ''}.`,
            e.keySpan,
          ),
        );
    }
    const outputs = mapGet(v, 'outputs');
    if (outputs && outputs.value.kind === 'map')
      out.push(
        makeDiagnostic(
          PipelineCode.wrongType,
          "A built-in step lists the outputs it keeps by name: `outputs: [model, onnx]`; their paths are the runtime's.",
          outputs.keySpan,
        ),
      );
  }
  if (mapGet(v, 'outputs') && mapGet(v, 'outs'))
    out.push(
      makeDiagnostic(
        PipelineCode.invalidStep,
        '`outs:` and `outputs:` are the same thing: keep one.',
        mapGet(v, 'outs')?.keySpan ?? entry.keySpan,
      ),
    );
}
