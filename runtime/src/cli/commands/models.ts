import { storeOf, storeSettingsOf } from '../store.js';
import { storeAbsent } from '../../store/open.js';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  gateIdSchema,
  gateIds,
  modelAliasSchema,
  type AliasMove,
  type GateId,
  type ModelDetail,
  type ModelSummary,
  type Promotion,
} from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { checkGates, formatGates, promote } from '../../registry/gates.js';
import { ModelRegistry, RegistryError } from '../../registry/registry.js';
import { workspaceOf } from '../../util/workspace.js';

/** A time for tables: `2026-12-02 03:04:05` (UTC). Shared by the deploy commands. */
export function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function aliasText(aliases: Record<string, number>): string {
  return Object.entries(aliases)
    .map(([a, v]) => `${a}=${v}`)
    .join(' ');
}

function metricText(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(' ');
}

/** Who moves an alias from the command line (recorded in the alias history). */
function actor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

function printList(io: CliIo, models: ModelSummary[], workspace: string): void {
  if (models.length === 0) {
    io.stdout(`no models registered in ${workspace}; a pipeline step \`uses: model.register\` registers one\n`);
    return;
  }
  io.stdout(
    table([
      ['NAME', 'LATEST', 'VERSIONS', 'ALIASES', 'UPDATED'],
      ...models.map((m) => [
        m.name,
        String(m.latestVersion),
        String(m.versionCount),
        aliasText(m.aliases),
        when(m.updatedAt),
      ]),
    ]),
  );
}

function printModel(io: CliIo, m: ModelDetail): void {
  io.stdout(
    `model ${m.name}  ${m.versionCount} version${m.versionCount === 1 ? '' : 's'}, latest ${m.latestVersion}${Object.keys(m.aliases).length > 0 ? `  aliases: ${aliasText(m.aliases)}` : ''}\n\n`,
  );
  io.stdout(
    table([
      ['VERSION', 'ALIASES', 'RUN', 'STEP', 'ARTIFACT', 'PATH', 'CARD', 'CREATED', 'METRICS'],
      ...m.versions.map((v) => [
        String(v.version),
        v.aliases.join(','),
        v.runId === null ? '(deleted)' : String(v.runId),
        v.step ?? '',
        v.artifactHash.slice(0, 12),
        v.path,
        v.cardPath ?? '',
        when(v.createdAt),
        metricText(v.metrics),
      ]),
    ]),
  );
  if (m.history.length > 0) {
    io.stdout(
      '\n' +
        table([
          ['WHEN', 'ALIAS', 'MOVE', 'BY', 'REASON'],
          ...m.history.map((h) => [
            when(h.at),
            h.alias,
            `${h.fromVersion ?? '(new)'} → ${h.toVersion}${h.action === 'rollback' ? ' (rollback)' : ''}`,
            h.actor,
            h.reason ?? '',
          ]),
        ]),
    );
  }
}

function printMove(io: CliIo, m: AliasMove): void {
  if (!m.changed) io.stdout(`${m.name}@${m.alias} already points at version ${m.version}; nothing changed\n`);
  else
    io.stdout(
      `${m.name}@${m.alias}: ${m.previous === null ? '(new)' : `version ${m.previous}`} → version ${m.version}\n`,
    );
}

/** `3` is a version, `production` an alias of the same model. */
function versionRef(text: string): number | string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1) throw new UsageError(`version ${text}: versions start at 1`);
    return n;
  }
  if (modelAliasSchema.safeParse(text).success) return text;
  throw new UsageError(`'${text}' is neither a version number nor an alias`);
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary:
    'The model registry: list models, show versions and alias history, move and roll back aliases, check gates and promote.',
  usage:
    'cairn models list\n       cairn models show NAME\n       cairn models alias NAME ALIAS VERSION|ALIAS [--reason R]   (raw move, no gates)\n' +
    '       cairn models rollback NAME ALIAS [--reason R]\n       cairn models gates NAME VERSION|ALIAS\n' +
    '       cairn models promote NAME VERSION|ALIAS --alias A [--override GATE,GATE --reason R]\n       (all: [--workspace DIR] [--format json])',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, { value: ['format', 'workspace', 'store', 'reason', 'alias', 'override'] });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    const arity = { list: 0, show: 1, alias: 3, rollback: 2, gates: 2, promote: 2 } as const;
    if (
      sub !== 'list' &&
      sub !== 'show' &&
      sub !== 'alias' &&
      sub !== 'rollback' &&
      sub !== 'gates' &&
      sub !== 'promote'
    ) {
      throw new UsageError(
        sub === undefined
          ? 'give a sub-command: list, show, alias, rollback, gates or promote'
          : `unknown sub-command '${sub}' (list, show, alias, rollback, gates, promote)`,
      );
    }
    const p = parsed.positionals;
    const takes = {
      list: 'no arguments',
      show: 'NAME',
      alias: 'NAME ALIAS VERSION',
      rollback: 'NAME ALIAS',
      gates: 'NAME VERSION|ALIAS',
      promote: 'NAME VERSION|ALIAS',
    }[sub];
    if (p.length !== arity[sub])
      throw new UsageError(
        `models ${sub} takes ${takes}${p.length > arity[sub] ? `; unexpected '${p[arity[sub]]}'` : ''}`,
      );
    const reason = flag(parsed, 'reason') ?? null;
    if (reason !== null && sub !== 'alias' && sub !== 'rollback' && sub !== 'promote')
      throw new UsageError('--reason goes with alias, rollback or promote');
    const target = flag(parsed, 'alias');
    if (target !== undefined && sub !== 'promote') throw new UsageError('--alias goes with promote');
    const overrideFlag = flag(parsed, 'override');
    if (overrideFlag !== undefined && sub !== 'promote') throw new UsageError('--override goes with promote');
    if (sub === 'promote' && target === undefined)
      throw new UsageError('models promote needs --alias ALIAS (e.g. --alias production)');
    const override = overrideFlag === undefined ? [] : overrideList(overrideFlag);
    if (override.length > 0 && (reason === null || reason.trim() === ''))
      throw new UsageError('--override needs --reason TEXT: the reason is recorded with the move');
    const settings = storeSettingsOf(parsed, workspace);
    if (storeAbsent(settings)) {
      if (sub === 'list') {
        if (format === 'json') io.stdout(JSON.stringify({ models: [] }) + '\n');
        else printList(io, [], workspace);
        return 0;
      }
      io.stderr(
        `cairn models ${sub}: no runs recorded in ${workspace} (no .cairn/cairn.db), so no model is registered; run a pipeline with a model.register step, or pass --workspace\n`,
      );
      return 1;
    }
    const store = await storeOf(parsed, workspace);
    const objects = new ObjectStore(path.join(workspace, '.cairn'));
    const registry = new ModelRegistry(store, objects, workspace);
    const gateContext = { store, objects, workspace };
    const out = (value: unknown, text: () => void) =>
      format === 'json' ? io.stdout(JSON.stringify(value) + '\n') : text();
    try {
      if (sub === 'list') {
        const models = await registry.list();
        out({ models }, () => printList(io, models, workspace));
      } else if (sub === 'show') {
        const m = await registry.get(p[0] ?? '');
        out(m, () => printModel(io, m));
      } else if (sub === 'alias') {
        const move = await registry.setAlias(p[0] ?? '', aliasArg(p[1] ?? ''), versionRef(p[2] ?? ''), actor(), reason);
        out(move, () => printMove(io, move));
      } else if (sub === 'rollback') {
        const move = await registry.rollback(p[0] ?? '', aliasArg(p[1] ?? ''), actor(), reason);
        out(move, () => printMove(io, move));
      } else if (sub === 'gates') {
        const report = await checkGates(gateContext, p[0] ?? '', versionRef(p[1] ?? ''));
        out(report, () => io.stdout(formatGates(report)));
        if (!report.passed) {
          if (format === 'text')
            io.stderr(
              failingAdvice(
                report.gates.filter((g) => g.state === 'fail').map((g) => g.gate),
                `cairn models promote ${report.name} ${report.version} --alias ALIAS`,
              ),
            );
          return 1;
        }
      } else {
        const alias = aliasArg(target ?? '');
        const promotion = await promote(gateContext, p[0] ?? '', versionRef(p[1] ?? ''), alias, {
          override,
          ...(reason === null ? {} : { reason }),
          actor: actor(),
        });
        out(promotion, () => printPromotion(io, promotion));
        if (!promotion.move) {
          io.stderr(
            `cairn models promote: refused: ${promotion.gates.name} version ${promotion.gates.version} fails ${promotion.gates.gates
              .filter((g) => g.state === 'fail')
              .map((g) => g.gate)
              .join(', ')}\n`,
          );
          if (format === 'text')
            io.stderr(
              failingAdvice(
                promotion.gates.gates.filter((g) => g.state === 'fail').map((g) => g.gate),
                `cairn models promote ${promotion.gates.name} ${promotion.gates.version} --alias ${alias}`,
              ),
            );
          return 1;
        }
      }
      return 0;
    } catch (error) {
      if (error instanceof RegistryError) {
        if (error.kind === 'invalid') throw new UsageError(error.message);
        io.stderr(`cairn models ${sub}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await store.close();
    }
  },
};

function aliasArg(text: string): string {
  if (!modelAliasSchema.safeParse(text).success)
    throw new UsageError(
      `alias '${text}': an alias starts with a letter, then letters, digits, '.', '_' or '-' (e.g. production)`,
    );
  return text;
}

function overrideList(text: string): GateId[] {
  return text
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => {
      const id = gateIdSchema.safeParse(g);
      if (!id.success) throw new UsageError(`--override ${text}: '${g}' is not a gate (gates: ${gateIds.join(', ')})`);
      return id.data;
    });
}

function failingAdvice(failing: string[], command: string): string {
  return `fix the failing gate${failing.length === 1 ? '' : 's'} as each line says, or promote anyway with a recorded reason: ${command} --override ${failing.join(',')} --reason TEXT\n`;
}

function printPromotion(io: CliIo, p: Promotion): void {
  io.stdout(formatGates(p.gates));
  if (p.move) printMove(io, p.move);
}
