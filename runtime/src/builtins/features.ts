import { readFile, writeFile } from 'node:fs/promises';
import { registerBuiltins } from './index.js';
import type { BuiltinContext } from './types.js';
import {
  applyTransform,
  DataError,
  fitTransform,
  parseTransform,
  readTable,
  userItemStats,
  writeCsv,
} from '../ml/data/index.js';
import { asStepErrors, builtinSpec as spec, parseOptions } from './support.js';

/** The features.* built-ins: fit / apply a saved transform, and user/item statistics. */

/** Bad data becomes a StepError: its message (file, line, what to do) is shown as is. */
const userErrors = (f: () => Promise<void>): Promise<void> => asStepErrors(f, [DataError]);

async function featuresTransform(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('features.transform'), ctx);
  await userErrors(async () => {
    const input = o.input;
    const table = await readTable(input);
    const hash = o.hash;
    const t = fitTransform(
      table,
      {
        standardize: o.standardize,
        oneHot: o.one_hot,
        hash,
        drop: o.drop,
        target: o.target,
      },
      input,
    );
    const out = applyTransform(table, t, input);
    if (ctx.signal.aborted) return;
    await writeFile(ctx.outputs.transform as string, JSON.stringify(t, null, 1) + '\n');
    await writeCsv(out, ctx.outputs.data as string);
    ctx.log(`${table.columns.length} columns in, ${out.columns.length} out: ${t.outputs.join(', ')}`);
  });
}

async function featuresApply(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('features.apply'), ctx);
  await userErrors(async () => {
    const file = o.transform;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new DataError(
        `cannot read the transform (${error instanceof Error ? error.message : String(error)})`,
        file,
      );
    }
    const t = parseTransform(json, file);
    const input = o.input;
    const out = applyTransform(await readTable(input), t, input);
    if (ctx.signal.aborted) return;
    await writeCsv(out, ctx.outputs.data as string);
  });
}

async function featuresUserItemStats(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('features.user-item-stats'), ctx);
  await userErrors(async () => {
    const input = o.input;
    const r = userItemStats(await readTable(input), {
      user: o.user,
      item: o.item,
      rating: o.rating,
      time: o.time,
      file: input,
    });
    if (ctx.signal.aborted) return;
    await writeCsv(r.users, ctx.outputs.users as string);
    await writeCsv(r.items, ctx.outputs.items as string);
    ctx.metric('users', r.users.rowCount);
    ctx.metric('items', r.items.rowCount);
    if (r.skipped) ctx.log(`${r.skipped} rows skipped (missing user, item or rating)`);
  });
}

registerBuiltins({
  'features.transform': featuresTransform,
  'features.apply': featuresApply,
  'features.user-item-stats': featuresUserItemStats,
});
