import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { formatDiagnosticText, loadPipeline } from '../../executor/loadPipeline.js';
import { ArgoExportError, toArgo } from '../../export/argo.js';
import { workspaceOf } from '../../util/workspace.js';
import { parseOverrides } from './run.js';

/** Written beside the target and renamed over it, so a reader never sees half a file. */
function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export a pipeline to another engine (Argo Workflows): each step runs `cairn run --step` on the cluster.',
  usage:
    'cairn export <pipeline> --target argo --image IMAGE --pvc CLAIM [--template] [--remote URL] [--secret NAME] ' +
    '[--mount DIR] [-p NAME=VALUE]… [-o FILE] [--workspace DIR] [--format json]',
  run(args, io) {
    return Promise.resolve(exportPipeline(args, io));
  },
};

function exportPipeline(args: string[], io: CliIo): number {
  {
    const parsed = parseArgs(args, {
      boolean: ['template'],
      value: [
        'target',
        'image',
        'pvc',
        'remote',
        'secret',
        'mount',
        'p',
        'param',
        'o',
        'output',
        'format',
        'workspace',
      ],
    });
    const format = formatOf(parsed);
    const file = parsed.positionals[0];
    if (file === undefined || parsed.positionals.length > 1) throw new UsageError('give one pipeline file');
    const target = flag(parsed, 'target');
    if (target !== 'argo') throw new UsageError(`--target ${target ?? '(missing)'}: the only target is argo`);
    const image = flag(parsed, 'image');
    if (image === undefined) throw new UsageError('--image IMAGE: the container image with cairn installed');
    const pvc = flag(parsed, 'pvc');
    if (pvc === undefined) throw new UsageError('--pvc CLAIM: the PersistentVolumeClaim holding the workspace');
    const mountPath = flag(parsed, 'mount') ?? '/workspace';
    if (!mountPath.startsWith('/'))
      throw new UsageError(`--mount ${mountPath}: give an absolute path in the container`);
    const overrides = parseOverrides([...(parsed.flags.get('p') ?? []), ...(parsed.flags.get('param') ?? [])]);
    const out = flag(parsed, 'o') ?? flag(parsed, 'output');
    const workspace = workspaceOf(parsed, io.cwd);

    const loaded = loadPipeline(file, { cwd: io.cwd, workspace, overrides });
    const failWith = (message: string, diagnostics: unknown[] = []) => {
      if (format === 'json') io.stdout(`${JSON.stringify({ ok: false, error: message, diagnostics })}\n`);
      else io.stderr(`cairn export: ${message}\n`);
      return 1;
    };
    if (!loaded.ok) {
      if (format === 'text') for (const d of loaded.diagnostics) io.stderr(`${formatDiagnosticText(d)}\n`);
      return failWith(loaded.message ?? `${file} has errors`, loaded.diagnostics);
    }
    let doc: Record<string, unknown>;
    try {
      const text = readFileSync(loaded.pipeline.file, 'utf8');
      doc = toArgo(
        loaded.pipeline,
        { file, text, document: loaded.document },
        {
          image,
          pvc,
          mountPath,
          workspace,
          secretName: flag(parsed, 'secret') ?? 'cairn-secrets',
          template: parsed.flags.has('template'),
          ...(flag(parsed, 'remote') !== undefined ? { remote: flag(parsed, 'remote') ?? '' } : {}),
        },
      );
    } catch (error) {
      if (error instanceof ArgoExportError) return failWith(error.message);
      throw error;
    }
    const yamlText = stringify(doc, { lineWidth: 0 });
    if (out !== undefined) writeAtomic(path.resolve(io.cwd, out), yamlText);
    if (format === 'json')
      io.stdout(
        `${JSON.stringify({ ok: true, kind: doc.kind, ...(out !== undefined ? { file: out } : { yaml: yamlText }) })}` +
          '\n',
      );
    else if (out === undefined) io.stdout(yamlText);
    else io.stdout(`wrote ${String(doc.kind)} to ${out}\n`);
    return 0;
  }
}
