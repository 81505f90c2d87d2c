import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { serveStartedSchema, type DeployRequest } from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import { ModelRegistry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';
import { pipelineServeSettings } from './pipelineSettings.js';
import { getDeployment } from './status.js';

export interface SupervisorOptions {
  /** How to start `cairn`: the node arguments before the sub-command (default: this process's own entry script). */
  cliEntry?: string[];
  /** The environment of started deployments (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long a deployment may take to print its listening line (default 60 s: a model may load slowly). */
  startTimeoutMs?: number;
}

export interface SupervisorContext {
  store: Store;
  objects: ObjectStore;
  workspace: string;
}

/** Waits for `cairn serve --format json`'s first stdout line (listening, or an error) and the exit of a failed start. */
function listening(
  child: ChildProcess,
  timeoutMs: number,
  stderr: () => string,
): Promise<{ token: string | null; deploymentId: number | null }> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('cairn serve was started without a stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `cairn serve did not start listening within ${timeoutMs / 1000} s${stderr() ? `: ${stderr().trim().split('\n').slice(-3).join(' ')}` : ''}`,
          ),
        ),
      timeoutMs,
    );
    const finish = (error: Error | null, token: string | null = null, deploymentId: number | null = null) => {
      clearTimeout(timer);
      lines.close();
      // Keep draining: a full pipe would block the server on its next write.
      child.stdout?.resume();
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve({ token, deploymentId });
    };
    const onExit = (code: number | null) =>
      finish(
        new Error(
          `cairn serve exited (code ${code ?? 'none'}) before listening${stderr() ? `: ${stderr().trim().split('\n').slice(-3).join(' ')}` : ''}`,
        ),
      );
    child.once('exit', onExit);
    lines.once('line', (line) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        finish(new Error(`cairn serve printed an unexpected line: ${line.slice(0, 200)}`));
        return;
      }
      const started = serveStartedSchema.safeParse(json);
      if (started.success) finish(null, started.data.token, started.data.deploymentId ?? null);
      else
        finish(
          new Error(
            typeof json === 'object' && json !== null && 'error' in json
              ? String(json.error)
              : `cairn serve printed an unexpected line: ${line.slice(0, 200)}`,
          ),
        );
    });
  });
}

/**
 * Deployment supervision: starts `cairn serve` processes as children of this process, waits until they listen, and
 * stops them when disposed (or when this process exits). `onChange` is told when a deployment started or one of the
 * children exited, so whoever watches the store looks again.
 */
export class DeploymentSupervisor {
  private readonly children = new Set<ChildProcess>();
  private readonly killChildren = (): void => {
    for (const c of this.children) c.kill('SIGTERM');
  };
  private disposed = false;

  constructor(
    private readonly ctx: SupervisorContext,
    private readonly options: SupervisorOptions,
    private readonly onChange: () => void,
  ) {
    process.once('exit', this.killChildren);
  }

  /** Starts `cairn serve` for a registered model; resolves with its deployment once it listens. */
  async deploy(p: DeployRequest.Params): Promise<DeployRequest.Result> {
    const { store, workspace } = this.ctx;
    const name = p.model.split('@')[0] ?? p.model;
    const registry = new ModelRegistry(store, this.ctx.objects, workspace);
    await registry.find(p.model);
    let model = p.model;
    let challenger = p.challenger;
    const extra: string[] = [];
    // The pipeline's deploy: block is checked here too, so a bad one is refused (with its file:line) before a spawn;
    // its port is used when the request gives none, else a free port rather than the CLI's 8080.
    let port = p.port;
    if (p.pipeline !== undefined) {
      const loaded = pipelineServeSettings(p.pipeline, { cwd: workspace, workspace });
      if (!loaded.ok)
        throw new CairnError('refused', `deploying ${p.model} with the settings of ${p.pipeline}: ${loaded.text}`);
      extra.push('--pipeline', p.pipeline);
      if (port === undefined && loaded.settings.port === undefined) port = 0;
      // A deploy.ab block deploys its A/B test: NAME@<champion alias> against NAME@<challenger alias>, once both
      // aliases point at versions (before that, the model asked for is served alone, as without ab:).
      const ab = loaded.settings.ab;
      if (ab && challenger === undefined) {
        const arms = [`${name}@${ab.champion}`, `${name}@${ab.challenger}`] as const;
        const exists = (ref: string): Promise<boolean> =>
          registry.find(ref).then(
            () => true,
            () => false,
          );
        if ((await exists(arms[0])) && (await exists(arms[1]))) [model, challenger] = arms;
      }
    }
    const args = [
      ...(this.options.cliEntry ?? [process.argv[1] ?? 'cairn']),
      'serve',
      '--model',
      model,
      '--workspace',
      workspace,
      '--format',
      'json',
      ...extra,
    ];
    if (p.pipeline === undefined || port !== undefined) args.push('--port', String(port ?? 0));
    if (challenger !== undefined) args.push('--challenger', challenger);
    if (p.split !== undefined) args.push('--split', String(p.split));
    if (p.key !== undefined) args.push('--key', p.key);
    const child = spawn(process.execPath, args, {
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The child opens the store this runtime uses, however this runtime was told of it.
      env: { ...(this.options.env ?? process.env), ...store.childEnv() },
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    this.children.add(child);
    child.once('exit', () => {
      this.children.delete(child);
      this.onChange();
    });
    let token: string | null;
    let deploymentId: number | null;
    try {
      ({ token, deploymentId } = await listening(child, this.options.startTimeoutMs ?? 60_000, () => err));
    } catch (error) {
      child.kill('SIGTERM');
      throw new CairnError('refused', `deploying ${model}: ${error instanceof Error ? error.message : String(error)}`);
    }
    // cairn serve records its deployment row before it prints the listening line (which names it).
    const id = deploymentId ?? (await store.deployments.byPid(child.pid ?? -1, name));
    if (id === undefined) {
      child.kill('SIGTERM');
      throw new Error(`cairn serve (pid ${child.pid ?? '?'}) listens but recorded no deployment row for ${name}`);
    }
    this.onChange();
    return { deployment: await getDeployment(store, id), token };
  }

  /** Stops every deployment started here. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.killChildren();
    process.off('exit', this.killChildren);
  }
}
