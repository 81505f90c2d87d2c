import { namePattern, redactedValue } from '@cairn/protocol';

/**
 * Parsing what the user types in "Run with Params…" (pure, unit-tested): `lr=0.01 epochs=3` or `lr=0.01, epochs=3`.
 * Values stay strings; the runtime converts them by each param's declared type and reports a wrong one by name.
 */
export type ParsedParams = { ok: true; params: Record<string, string> } | { ok: false; error: string };

/** `name=value` pairs: the name as the pipeline language spells one (protocol's `namePattern`), then the value. */
const assignment = new RegExp(
  `${namePattern.source.replace(/^\^|\$$/g, '')}\\s*=\\s*(?:"[^"]*"|'[^']*'|\\[[^\\]]*\\]|\\{[^}]*\\}|[^\\s,]*)|\\S+`,
  'g',
);

export function parseParamOverrides(text: string): ParsedParams {
  const params: Record<string, string> = {};
  // Split on commas or whitespace that start a new `name=`; a value may hold spaces inside quotes or brackets.
  const parts = text.match(assignment) ?? [];
  for (const part of parts) {
    if (part === ',') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${part}" is not name=value (e.g. lr=0.01 epochs=3)` };
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (!namePattern.test(name))
      return { ok: false, error: `"${name}" is not a param name (letters, digits, _ and -)` };
    if (Object.prototype.hasOwnProperty.call(params, name))
      return { ok: false, error: `param "${name}" is given twice` };
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    params[name] = value;
  }
  return { ok: true, params };
}

/** A run's recorded params as overrides for a re-run: secrets (never sent to the client) are left to their default. */
export function overridesFromRun(params: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === redactedValue || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Why running is refused, or undefined when it is allowed (Workspace Trust). */
export function runBlockedReason(isTrusted: boolean): string | undefined {
  return isTrusted
    ? undefined
    : 'Cairn does not run pipelines in Restricted Mode: a run executes the commands the pipeline names. Validation, completion and the other language features still work. Trust this workspace to run.';
}
