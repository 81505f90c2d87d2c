import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { outsideTags, type LineageGraph, type LineageNode } from '@cairn/protocol';
import { hashPath } from '../cas/objectStore.js';
import type { StepRunRow, Store } from '../store/store.js';
import { sha256File } from '../util/hash.js';
import { CairnError } from '../util/errors.js';

/** Lineage graphs stop growing here: enough for any screen, bounded for huge histories. */
const MAX_NODES = 2000;

export class LineageTargetError extends CairnError {
  override name = 'LineageTargetError';
  constructor(message: string) {
    super('not-found', message);
  }
}

const outsideReadSchema = z.array(z.object({ path: z.string(), real: z.string(), allowedBy: z.string() }));

/**
 * Lineage id of a file as a step read or wrote it: `artifact:<sha256>:<workspace path>`. Content and path together,
 * so two files with the same bytes (a copy step, a validation that drops nothing) are two nodes and a step never
 * loops onto itself. `artifact:<sha256>` alone (edges recorded before paths were part of the id, or content no step
 * recorded a path for) names the newest file recorded with that content.
 */
export function artifactNodeId(hash: string, relPath?: string): string {
  return relPath === undefined ? `artifact:${hash}` : `artifact:${hash}:${relPath}`;
}

/** The hash and path of an `artifact:` lineage id (path absent in the hash-only form); undefined for other ids. */
export function parseArtifactNodeId(id: string): { hash: string; path?: string } | undefined {
  const m = /^artifact:([0-9a-f]+)(?::(.+))?$/s.exec(id);
  if (m?.[1] === undefined) return undefined;
  return m[2] === undefined ? { hash: m[1] } : { hash: m[1], path: m[2] };
}

/**
 * The lineage graph of a run (`12`, `run:12`), an artifact (`artifact:<hash or prefix>`, a hash prefix, or a workspace
 * path) or a model (`model:<name>[@<version>]`, through the registry's lineage edges). Nodes whose inputs changed on
 * disk since they were produced are marked stale, and staleness flows downstream.
 */
export async function lineage(store: Store, workspace: string, target: string): Promise<LineageGraph> {
  await store.writer.flush();
  const g = new GraphBuilder(store, workspace);
  const t = target.trim();
  const runMatch = /^(?:run:)?(\d+)$/.exec(t);
  if (runMatch) {
    const runId = Number(runMatch[1]);
    const steps = await store.runs.steps(runId);
    if (steps.length === 0) {
      if (!(await store.runs.exists(runId)))
        throw new LineageTargetError(`run ${runId} does not exist; \`cairn runs list\` shows the runs there are`);
    }
    for (const s of steps) await g.addStep(s, 'both', 1);
  } else if (t.startsWith('model:')) {
    const id = t.includes('@') ? t : null;
    const candidates = id ? [id] : await store.artifacts.edgeNodesLike(`${t}@`);
    const known: string[] = [];
    for (const c of candidates) if (await store.artifacts.hasEdge(c)) known.push(c);
    if (known.length === 0)
      throw new LineageTargetError(
        `no lineage recorded for ${t}; register the model first (cairn models list shows registered ones)`,
      );
    for (const k of known) await g.addGeneric(k, 'both');
  } else {
    for (const a of await resolveArtifact(store, t)) await g.addArtifact(a.hash, a.path, 'both');
  }
  await g.markStale();
  return g.result();
}

/**
 * The files an artifact target names: `artifact:<hash>:<path>` exactly; a hash or hash prefix (`artifact:` optional):
 * every path recorded with that content; a workspace path: its newest recorded version.
 */
async function resolveArtifact(store: Store, target: string): Promise<Array<{ hash: string; path?: string }>> {
  const exact = parseArtifactNodeId(target);
  if (exact?.path !== undefined) {
    if (await store.artifacts.recorded(exact.hash, exact.path)) return [{ hash: exact.hash, path: exact.path }];
    throw new LineageTargetError(
      `no run recorded ${exact.path} with content ${exact.hash.slice(0, 12)}; \`cairn lineage ${exact.path}\` shows its newest version`,
    );
  }
  const given = target.replace(/^artifact:/, '');
  if (/^[0-9a-f]{6,64}$/.test(given)) {
    const rows = await store.artifacts.hashesWithPrefix(given, 2);
    if (rows.length > 1)
      throw new LineageTargetError(`artifact prefix ${given} is ambiguous; give more characters of the hash`);
    const hash = rows[0];
    if (hash !== undefined) {
      return (await store.artifacts.pathsOf(hash)).map((p) => ({ hash, path: p }));
    }
  }
  const rel = path.normalize(given).split(path.sep).join('/');
  const byPath = await store.artifacts.newestHashAt(rel);
  if (byPath !== undefined) return [{ hash: byPath, path: rel }];
  throw new LineageTargetError(
    `no run recorded '${given}' as an artifact, a hash, or a path; give a run id, an artifact hash, a workspace path, or model:<name>`,
  );
}

class GraphBuilder {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly edges = new Map<string, { from: string; to: string }>();
  private readonly visited = new Set<string>();
  private readonly inputs: Map<string, Array<{ path: string; hash: string }>> = new Map();

  constructor(
    private readonly store: Store,
    private readonly workspace: string,
  ) {}

  private edge(from: string, to: string): void {
    this.edges.set(`${from}\u0000${to}`, { from, to });
  }

  private full(): boolean {
    return this.nodes.size >= MAX_NODES;
  }

  async addStep(s: StepRunRow, direction: 'up' | 'down' | 'both', depth: number): Promise<string> {
    const id = `step:${s.id}`;
    if (!this.nodes.has(id)) {
      this.nodes.set(id, {
        id,
        kind: 'step',
        label: `${s.step} (run ${s.runId}${s.cacheHit ? `, cached${s.cacheSource === 'remote' ? ' · remote' : ''}` : ''})`,
        runId: s.runId,
        stale: false,
      });
    }
    const key = `${id}:${direction}`;
    if (this.visited.has(key) || this.full()) return id;
    this.visited.add(key);
    const io = await this.store.artifacts.stepIo(s.id);
    this.inputs.set(
      id,
      io.filter((r) => r.direction === 'in'),
    );
    const outside = await this.outsideInputs(s.runId);
    for (const r of io) {
      const a = await this.artifactNode(r.hash, r.path);
      const real = r.direction === 'in' ? outside.get(r.path) : undefined;
      const node = this.nodes.get(a);
      if (real !== undefined && node) node.outside = real;
      if (r.direction === 'in') {
        this.edge(a, id);
        if (direction !== 'down' && depth > 0) await this.addArtifact(r.hash, r.path, 'up');
      } else {
        this.edge(id, a);
        if (direction !== 'up') await this.addArtifact(r.hash, r.path, 'down');
      }
    }
    return id;
  }

  /** Inputs a run read from outside the workspace (its `outsideTags.read` tag): step_io path → real path. */
  private async outsideInputs(runId: number): Promise<Map<string, string>> {
    const value = await this.store.runs.tag(runId, outsideTags.read);
    const out = new Map<string, string>();
    if (value === undefined) return out;
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      json = undefined;
    }
    const parsed = outsideReadSchema.safeParse(json);
    if (!parsed.success) {
      const expected = 'a list of { path, real, allowedBy } (changed by hand?)';
      throw new Error(`run ${runId}: its tag ${outsideTags.read} is not ${expected}`);
    }
    for (const r of parsed.data) out.set(r.path, r.real);
    return out;
  }

  /** The node of a file version (`relPath` undefined: content no step recorded a path for). */
  private async artifactNode(hash: string, relPath: string | undefined): Promise<string> {
    const id = artifactNodeId(hash, relPath);
    if (!this.nodes.has(id)) {
      const produced = relPath !== undefined && (await this.store.artifacts.recorded(hash, relPath, 'out'));
      const label = relPath ?? hash.slice(0, 12);
      this.nodes.set(id, {
        id,
        kind: produced ? 'artifact' : 'data',
        label,
        ...(relPath === undefined ? {} : { path: relPath }),
        hash,
        stale: false,
      });
    }
    return id;
  }

  /** The newest path recorded with this content, a step's output first: what a hash-only `artifact:` id names. */
  private newestPath(hash: string): Promise<string | undefined> {
    return this.store.artifacts.newestPathOf(hash);
  }

  /** The graph node for an `artifact:` id of an edge recorded elsewhere (either form), created if needed. */
  private async artifactOfId(
    id: string,
  ): Promise<{ hash: string; path: string | undefined; node: string } | undefined> {
    const parsed = parseArtifactNodeId(id);
    if (parsed === undefined) return undefined;
    const relPath = parsed.path ?? (await this.newestPath(parsed.hash));
    return { hash: parsed.hash, path: relPath, node: await this.artifactNode(parsed.hash, relPath) };
  }

  async addArtifact(hash: string, relPath: string | undefined, direction: 'up' | 'down' | 'both'): Promise<void> {
    const id = await this.artifactNode(hash, relPath);
    const key = `${id}:${direction}`;
    if (this.visited.has(key) || this.full()) return;
    this.visited.add(key);
    if (relPath !== undefined && direction !== 'down') {
      // The step run that computed it (not a later cache hit that restored it).
      const producer = await this.store.artifacts.producer(hash, relPath);
      if (producer) {
        const stepId = await this.addStep(producer, 'up', 1);
        this.edge(stepId, id);
      }
    }
    if (relPath !== undefined && direction !== 'up') {
      // Consumers in the latest run that read it (older runs repeat the same picture).
      for (const c of await this.store.artifacts.latestConsumers(hash, relPath)) await this.addStep(c, 'down', 0);
    }
    // Recorded edges name this file by its id, or (older ones) by its content alone when it is the newest file with it.
    const names = [id];
    if (relPath !== undefined && (await this.newestPath(hash)) === relPath) names.push(artifactNodeId(hash));
    for (const name of names) await this.addGeneric(name, direction === 'both' ? 'down' : direction, id);
  }

  /**
   * Edges recorded by other parts (registry, deployments): artifact → model version → deployment. `node` is the graph
   * node `id` stands for (an artifact's hash-only id stands for its file's node).
   */
  async addGeneric(id: string, direction: 'up' | 'down' | 'both', node = id): Promise<void> {
    if (!this.nodes.has(node)) {
      const [kind, ...rest] = node.split(':');
      const name = rest.join(':');
      const k = kind === 'model' || kind === 'deployment' ? kind : 'artifact';
      this.nodes.set(node, { id: node, kind: k, label: name, stale: false });
    }
    const key = `${id}:generic:${direction}`;
    if (this.visited.has(key) || this.full()) return;
    this.visited.add(key);
    if (direction !== 'up') {
      for (const to of await this.store.artifacts.edgesFrom(id)) {
        const a = await this.artifactOfId(to);
        this.edge(node, a?.node ?? to);
        if (a) await this.addArtifact(a.hash, a.path, 'down');
        else await this.addGeneric(to, 'down');
      }
    }
    if (direction !== 'down') {
      for (const from of await this.store.artifacts.edgesTo(id)) {
        const a = await this.artifactOfId(from);
        this.edge(a?.node ?? from, node);
        if (a) await this.addArtifact(a.hash, a.path, 'up');
        else await this.addGeneric(from, 'up');
      }
    }
  }

  private async currentHash(relPath: string): Promise<string | null> {
    const abs = path.resolve(this.workspace, relPath);
    try {
      const st = await fs.stat(abs, { bigint: true });
      if (st.isDirectory()) return (await hashPath(abs)).hash;
      const size = Number(st.size);
      const mtime = st.mtimeNs.toString();
      const known = await this.store.artifacts.cachedFileHash(relPath, size, mtime);
      return known ?? (await sha256File(abs));
    } catch {
      return null;
    }
  }

  /**
   * A step is stale when a file it read now differs, and so is that file's node (source data, or a step's output
   * rewritten since, e.g. by a later run); everything downstream of a stale node is stale too.
   */
  async markStale(): Promise<void> {
    for (const [stepId, ins] of this.inputs) {
      const node = this.nodes.get(stepId);
      if (!node) continue;
      for (const i of ins) {
        const now = await this.currentHash(i.path);
        if (now === i.hash) continue;
        if (!node.stale) {
          node.stale = true;
          node.staleReason =
            now === null ? `input ${i.path} no longer exists` : `input ${i.path} changed since this step ran`;
        }
        const input = this.nodes.get(artifactNodeId(i.hash, i.path));
        if (input && !input.stale) {
          input.stale = true;
          input.staleReason = now === null ? 'the file no longer exists' : 'the file changed since it was read';
        }
      }
    }
    const out = new Map<string, string[]>();
    for (const e of this.edges.values()) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
    const queue = [...this.nodes.values()].filter((n) => n.stale && n.kind !== 'data').map((n) => n.id);
    while (queue.length > 0) {
      const id = queue.shift() ?? '';
      for (const next of out.get(id) ?? []) {
        const n = this.nodes.get(next);
        if (n && !n.stale) {
          n.stale = true;
          n.staleReason = `upstream ${this.nodes.get(id)?.label ?? id} is stale`;
          queue.push(next);
        }
      }
    }
  }

  result(): LineageGraph {
    return { nodes: [...this.nodes.values()], edges: [...this.edges.values()] };
  }
}
