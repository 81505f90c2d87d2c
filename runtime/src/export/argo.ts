import * as path from 'node:path';
import { LineIndex, mapGet, type PipelineDocument, type ResolvedPipeline, type ResolvedStep } from '@cairn/protocol';
import { isInside } from '../util/paths.js';

/**
 * Translates a resolved pipeline into an Argo Workflows `Workflow` (or `WorkflowTemplate`): one DAG task per step,
 * each running `cairn run <pipeline> --step <name>` in the workspace mounted from a volume, so the cluster's steps go
 * through Cairn's own step runner (same cache keys, same tracking). Pure: no file is read or written here.
 */
export interface ArgoOptions {
  /** Container image with Cairn (and the tools the command steps call) installed. */
  image: string;
  /** PersistentVolumeClaim holding the workspace; mounted at `mountPath` in every step. */
  pvc: string;
  /** Where the workspace is mounted in the container. */
  mountPath: string;
  /** Absolute workspace folder on this machine (paths are made relative to it). */
  workspace: string;
  /** Artifact remote handed to each step as CAIRN_REMOTE; left out when not given. */
  remote?: string;
  /** Kubernetes secret holding the values of secret params (one key per param name). */
  secretName: string;
  /** `WorkflowTemplate` instead of `Workflow`. */
  template: boolean;
}

/** Where the pipeline came from, to name the file and line of what cannot be exported. */
export interface ArgoSource {
  /** The file as the user named it (printed in messages). */
  file: string;
  text: string;
  document: PipelineDocument;
}

export class ArgoExportError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly step?: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

/** Annotation on each task's template naming the Cairn step it runs (task names must be DNS-like). */
export const stepAnnotation = 'cairn.dev/step';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes/Argo-safe name: lower case, `_`/`.`/spaces as `-`. */
export function argoName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/** Cairn memory (`4Gi`, `512MB`, `1024`) as a Kubernetes quantity (`4Gi`, `512M`, `1024`). */
export function k8sMemory(memory: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?)?B?$/.exec(memory.trim());
  if (!m) throw new Error(`memory '${memory}' is not a size like 4Gi or 512MB`);
  return `${m[1] ?? ''}${m[2] ?? ''}`;
}

function stringOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function secretEnv(param: string): string {
  return `CAIRN_SECRET_${param.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

export function toArgo(pipeline: ResolvedPipeline, source: ArgoSource, options: ArgoOptions): Record<string, unknown> {
  const lines = new LineIndex(source.text);
  const lineOf = (offset: number) => lines.positionAt(offset).line + 1;
  const stepLine = (step: string) => lineOf(source.document.symbols.steps.get(step)?.entry.keySpan.start ?? 0);
  const fail = (step: string | undefined, line: number, message: string): never => {
    throw new ArgoExportError(message, source.file, line, step);
  };

  if (!isInside(options.workspace, pipeline.root))
    fail(undefined, 1, `the pipeline is outside the workspace ${options.workspace}`);
  const pipelineRel = toPosix(path.relative(options.workspace, pipeline.file));

  const taskNames = new Map<string, string>();
  const byTask = new Map<string, string>();
  for (const s of pipeline.steps) {
    const t = argoName(s.name);
    if (!dnsLabel.test(t))
      fail(s.name, stepLine(s.name), `step '${s.name}' has no name Argo accepts (letters, digits, '-'): rename it`);
    const other = byTask.get(t);
    if (other !== undefined)
      fail(s.name, stepLine(s.name), `steps '${other}' and '${s.name}' both become the Argo task '${t}': rename one`);
    byTask.set(t, s.name);
    taskNames.set(s.name, t);
  }

  const checkPaths = (s: ResolvedStep) => {
    for (const p of [...s.deps, ...Object.values(s.outs)]) {
      const abs = path.resolve(pipeline.root, p);
      if (path.isAbsolute(p) || !isInside(options.workspace, abs)) {
        fail(
          s.name,
          stepLine(s.name),
          `step '${s.name}' uses ${p}, a path outside the workspace; ` +
            'a cluster step sees only the workspace volume: move the file into the workspace',
        );
      }
    }
  };

  for (const s of pipeline.steps) checkPaths(s);
  // No step names an outside file, but a command may still read one: refuse rather than fail on the cluster.
  const allow = source.document.root ? mapGet(source.document.root, 'allow_outside') : undefined;
  if ((pipeline.allowOutside ?? []).length > 0) {
    fail(
      undefined,
      lineOf(allow?.keySpan.start ?? 0),
      `allow_outside: names folders outside the workspace (${(pipeline.allowOutside ?? []).join(', ')}); ` +
        'a cluster step sees only the workspace volume: copy the files into the workspace and remove allow_outside',
    );
  }
  const paramNames = Object.keys(pipeline.params).sort();
  // A secret's value is never written: it is no workflow parameter; the step reads it from the Kubernetes secret.
  const parameters = paramNames.flatMap((name) => {
    const p = pipeline.params[name];
    return p === undefined || p.secret ? [] : [{ name, value: stringOf(p.value) }];
  });

  const templates: Record<string, unknown>[] = [];
  const tasks: Record<string, unknown>[] = [];
  for (const s of pipeline.steps) {
    const task = taskNames.get(s.name) ?? s.name;
    const args = ['run', pipelineRel, '--step', s.name, '--workspace', options.mountPath];
    const env: Record<string, unknown>[] = [];
    for (const name of [...s.params].sort()) {
      const p = pipeline.params[name];
      if (p?.secret) {
        env.push({ name: secretEnv(name), valueFrom: { secretKeyRef: { name: options.secretName, key: name } } });
        args.push('-p', `${name}=$(${secretEnv(name)})`); // Kubernetes expands $(VAR) in args from the env
      } else args.push('-p', `${name}={{workflow.parameters.${name}}}`);
    }
    if (options.remote !== undefined) env.push({ name: 'CAIRN_REMOTE', value: options.remote });
    const requests: Record<string, string> = {};
    const limits: Record<string, string> = {};
    if (s.resources.cpu !== undefined) requests.cpu = limits.cpu = String(s.resources.cpu);
    if (s.resources.memory !== undefined) requests.memory = limits.memory = k8sMemory(s.resources.memory);
    // `optional` asks for no GPU: the step must run without one, and a GPU node is not guaranteed.
    if (s.resources.gpu === 'required') limits['nvidia.com/gpu'] = '1';
    const resources =
      Object.keys(limits).length > 0
        ? { resources: { ...(Object.keys(requests).length > 0 ? { requests } : {}), limits } }
        : {};
    templates.push({
      name: task,
      metadata: { annotations: { [stepAnnotation]: s.name } },
      container: {
        name: 'main',
        image: options.image,
        command: ['cairn'],
        args,
        workingDir: options.mountPath,
        ...(env.length > 0 ? { env } : {}),
        volumeMounts: [{ name: 'workspace', mountPath: options.mountPath }],
        ...resources,
      },
    });
    const deps = s.needs.map((n) => taskNames.get(n) ?? n);
    tasks.push({ name: task, template: task, ...(deps.length > 0 ? { dependencies: deps } : {}) });
  }

  const name = argoName(pipeline.name) || 'cairn';
  const spec = {
    entrypoint: 'pipeline',
    ...(parameters.length > 0 ? { arguments: { parameters } } : {}),
    volumes: [{ name: 'workspace', persistentVolumeClaim: { claimName: options.pvc } }],
    templates: [{ name: 'pipeline', dag: { tasks } }, ...templates],
  };
  const metadata = options.template ? { name } : { generateName: `${name}-` };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: options.template ? 'WorkflowTemplate' : 'Workflow',
    metadata: { ...metadata, labels: { 'cairn.dev/pipeline': name } },
    spec,
  };
}
