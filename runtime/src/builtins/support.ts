import type { z } from 'zod';
import { builtinOf, type BuiltinName, type BuiltinSpec, type BuiltinSpecOf } from '@cairn/protocol';
import { StepError, type BuiltinContext } from './types.js';

/** Helpers every built-in category shares: its catalogue entry, its checked options, user-fixable errors. */

export function builtinSpec<N extends BuiltinName>(name: N): BuiltinSpecOf<N> {
  return builtinOf(name);
}

/**
 * The step's options checked (again) against the catalogue's zod schema: the executor does it too, but a built-in
 * called directly (tests, the extension) gets the same defaults and a clear error.
 */
export function parseOptions<S extends BuiltinSpec>(spec: S, ctx: BuiltinContext): z.output<S['options']> {
  const parsed = spec.options.safeParse(ctx.options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new StepError(`${ctx.step}: invalid options for ${spec.name}: ${issues}`);
  }
  return parsed.data as z.output<S['options']>; // safeParse of S["options"] resolves to its constraint
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `f`; errors of the given classes (bad data, bad metric input) become StepErrors, shown as is with no stack. */
export async function asStepErrors(f: () => Promise<void>, userErrors: ErrorClass[]): Promise<void> {
  try {
    await f();
  } catch (error) {
    if (userErrors.some((c) => error instanceof c)) throw new StepError((error as Error).message);
    throw error;
  }
}
