import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { outsideTags, type LineageGraph, type LineageNode } from '@cairn/protocol';
import { hashPath } from '../cas/objectStore.js';
import type { Store } from '../store/store.js';
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

interface StepRow {
  id: number;
  run_id: number;
  step: string;
  status: string;
  cache_hit: number;
}

/**
 * The lineage graph of a run (`12`, `run:12`), an artifact (`artifact:<hash or prefix>`, a hash prefix, or a workspace
 * path) or a model (`model:<name>[@<version>]`, through the registry's lineage edges). Nodes whose inputs changed on
 * disk since they were produced are marked stale, and staleness flows downstream.
 */
export async function lineage(store: Store, workspace: string, target: string): Promise<LineageGraph> {
  store.metrics.flush();
  const g = new GraphBuilder(store, workspace);
  const t = target.trim();
  const runMatch = /^(?:run:)?(\d+)$/.exec(t);
  if (runMatch) {
    const runId = Number(runMatch[1]);
    const steps = store.db.prepare<[number], StepRow>('SELECT id, run_id, step, status, cache_hit FROM step_runs WHERE run_id = ? ORDER BY id').all(runId);
    if (steps.length === 0) {
      const exists = store.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId);
      if (!exists) throw new LineageTargetError(`run ${runId} does not exist; \`cairn runs list\` shows the runs there are`);
    }
    for (const s of steps) g.addStep(s, 'both', 1);
  } else if (t.startsWith('model:')) {
    const id = t.includes('@') ? t : null;
    const candidates = id
      ? [id]
      : store.db
          .prepare<[string, string], { id: string }>('SELECT to_id AS id FROM lineage_edges WHERE to_id LIKE ? ESCAPE \'\\\' UNION SELECT from_id FROM lineage_edges WHERE from_id LIKE ? ESCAPE \'\\\'')
          .all(`${likeEscape(t)}@%`, `${likeEscape(t)}@%`)
          .map((r) => r.id);
    const known = candidates.filter((c) => store.db.prepare('SELECT 1 FROM lineage_edges WHERE to_id = ? OR from_id = ?').get(c, c));
    if (known.length === 0) throw new LineageTargetError(`no lineage recorded for ${t}; register the model first (cairn models list shows registered ones)`);
    for (const k of known) g.addGeneric(k, 'both');
  } else {
    for (const a of resolveArtifact(store, t)) g.addArtifact(a.hash, a.path, 'both');
  }
  await g.markStale();
  return g.result();
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The files an artifact target names: `artifact:<hash>:<path>` exactly; a hash or hash prefix (`artifact:` optional):
 * every path recorded with that content; a workspace path: its newest recorded version.
 */
function resolveArtifact(store: Store, target: string): Array<{ hash: string; path?: string }> {
  const exact = parseArtifactNodeId(target);
  if (exact?.path !== undefined) {
    if (store.db.prepare('SELECT 1 FROM step_io WHERE hash = ? AND path = ? LIMIT 1').get(exact.hash, exact.path)) return [{ hash: exact.hash, path: exact.path }];
    throw new LineageTargetError(`no run recorded ${exact.path} with content ${exact.hash.slice(0, 12)}; \`cairn lineage ${exact.path}\` shows its newest version`);
  }
  const given = target.replace(/^artifact:/, '');
  if (/^[0-9a-f]{6,64}$/.test(given)) {
    const rows = store.db.prepare<[string, string], { hash: string }>('SELECT DISTINCT hash FROM step_io WHERE hash >= ? AND hash < ? LIMIT 2').all(given, `${given}g`);
    if (rows.length > 1) throw new LineageTargetError(`artifact prefix ${given} is ambiguous; give more characters of the hash`);
    const hash = rows[0]?.hash;
    if (hash !== undefined) {
      const paths = store.db.prepare<[string], { path: string }>('SELECT DISTINCT path FROM step_io WHERE hash = ? ORDER BY path').all(hash);
      return paths.map((r) => ({ hash, path: r.path }));
    }
  }
  const rel = path.normalize(given).split(path.sep).join('/');
  const byPath = store.db
    .prepare<[string], { hash: string }>("SELECT hash FROM step_io WHERE path = ? ORDER BY step_run_id DESC, direction = 'out' DESC LIMIT 1")
    .get(rel);
  if (byPath) return [{ hash: byPath.hash, path: rel }];
  throw new LineageTargetError(`no run recorded '${given}' as an artifact, a hash, or a path; give a run id, an artifact hash, a workspace path, or model:<name>`);
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

  addStep(s: StepRow, direction: 'up' | 'down' | 'both', depth: number): string {
    const id = `step:${s.id}`;
    if (!this.nodes.has(id)) {
      this.nodes.set(id, { id, kind: 'step', label: `${s.step} (run ${s.run_id}${s.cache_hit ? ', cached' : ''})`, runId: s.run_id, stale: false });
    }
    const key = `${id}:${direction}`;
    if (this.visited.has(key) || this.full()) return id;
    this.visited.add(key);
    const io = this.store.db.prepare<[number], { direction: string; path: string; hash: string }>('SELECT direction, path, hash FROM step_io WHERE step_run_id = ?').all(s.id);
    this.inputs.set(id, io.filter((r) => r.direction === 'in'));
    const outside = this.outsideInputs(s.run_id);
    for (const r of io) {
      const a = this.artifactNode(r.hash, r.path);
      const real = r.direction === 'in' ? outside.get(r.path) : undefined;
      const node = this.nodes.get(a);
      if (real !== undefined && node) node.outside = real;
      if (r.direction === 'in') {
        this.edge(a, id);
        if (direction !== 'down' && depth > 0) this.addArtifact(r.hash, r.path, 'up');
      } else {
        this.edge(id, a);
        if (direction !== 'up') this.addArtifact(r.hash, r.path, 'down');
      }
    }
    return id;
  }

  /** Inputs a run read from outside the workspace (its `outsideTags.read` tag): step_io path → real path. */
  private outsideInputs(runId: number): Map<string, string> {
    const row = this.store.db
      .prepare<[number, string], { value: string }>('SELECT value FROM tags WHERE run_id = ? AND key = ?')
      .get(runId, outsideTags.read);
    const out = new Map<string, string>();
    if (!row) return out;
    let json: unknown;
    try {
      json = JSON.parse(row.value);
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
  private artifactNode(hash: string, relPath: string | undefined): string {
    const id = artifactNodeId(hash, relPath);
    if (!this.nodes.has(id)) {
      const produced = relPath !== undefined && this.store.db.prepare("SELECT 1 FROM step_io WHERE hash = ? AND path = ? AND direction = 'out' LIMIT 1").get(hash, relPath);
      const label = relPath ?? hash.slice(0, 12);
      this.nodes.set(id, { id, kind: produced ? 'artifact' : 'data', label, ...(relPath === undefined ? {} : { path: relPath }), hash, stale: false });
    }
    return id;
  }

  /** The newest path recorded with this content, a step's output first: what a hash-only `artifact:` id names. */
  private newestPath(hash: string): string | undefined {
    return this.store.db.prepare<[string], { path: string }>("SELECT path FROM step_io WHERE hash = ? ORDER BY direction = 'out' DESC, step_run_id DESC LIMIT 1").get(hash)?.path;
  }

  /** The graph node for an `artifact:` id of an edge recorded elsewhere (either form), created if needed. */
  private artifactOfId(id: string): { hash: string; path: string | undefined; node: string } | undefined {
    const parsed = parseArtifactNodeId(id);
    if (parsed === undefined) return undefined;
    const relPath = parsed.path ?? this.newestPath(parsed.hash);
    return { hash: parsed.hash, path: relPath, node: this.artifactNode(parsed.hash, relPath) };
  }

  addArtifact(hash: string, relPath: string | undefined, direction: 'up' | 'down' | 'both'): void {
    const id = this.artifactNode(hash, relPath);
    const key = `${id}:${direction}`;
    if (this.visited.has(key) || this.full()) return;
    this.visited.add(key);
    if (relPath !== undefined && direction !== 'down') {
      // The step run that computed it (not a later cache hit that restored it).
      const producer = this.store.db
        .prepare<[string, string], StepRow>(
          "SELECT s.id, s.run_id, s.step, s.status, s.cache_hit FROM step_io io JOIN step_runs s ON s.id = io.step_run_id WHERE io.hash = ? AND io.path = ? AND io.direction = 'out' ORDER BY s.cache_hit ASC, s.id ASC LIMIT 1",
        )
        .get(hash, relPath);
      if (producer) {
        const stepId = this.addStep(producer, 'up', 1);
        this.edge(stepId, id);
      }
    }
    if (relPath !== undefined && direction !== 'up') {
      // Consumers in the latest run that read it (older runs repeat the same picture).
      const consumers = this.store.db
        .prepare<[string, string, string, string], StepRow>(
          `SELECT s.id, s.run_id, s.step, s.status, s.cache_hit FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
           WHERE io.hash = ? AND io.path = ? AND io.direction = 'in' AND s.run_id = (SELECT max(s2.run_id) FROM step_io i2 JOIN step_runs s2 ON s2.id = i2.step_run_id WHERE i2.hash = ? AND i2.path = ? AND i2.direction = 'in')`,
        )
        .all(hash, relPath, hash, relPath);
      for (const c of consumers) this.addStep(c, 'down', 0);
    }
    // Recorded edges name this file by its id, or (older ones) by its content alone when it is the newest file with it.
    const names = [id];
    if (relPath !== undefined && this.newestPath(hash) === relPath) names.push(artifactNodeId(hash));
    for (const name of names) this.addGeneric(name, direction === 'both' ? 'down' : direction, id);
  }

  /**
   * Edges recorded by other parts (registry, deployments): artifact → model version → deployment. `node` is the graph
   * node `id` stands for (an artifact's hash-only id stands for its file's node).
   */
  addGeneric(id: string, direction: 'up' | 'down' | 'both', node = id): void {
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
      for (const e of this.store.db.prepare<[string], { to_id: string }>('SELECT to_id FROM lineage_edges WHERE from_id = ?').all(id)) {
        const a = this.artifactOfId(e.to_id);
        this.edge(node, a?.node ?? e.to_id);
        if (a) this.addArtifact(a.hash, a.path, 'down');
        else this.addGeneric(e.to_id, 'down');
      }
    }
    if (direction !== 'down') {
      for (const e of this.store.db.prepare<[string], { from_id: string }>('SELECT from_id FROM lineage_edges WHERE to_id = ?').all(id)) {
        const a = this.artifactOfId(e.from_id);
        this.edge(a?.node ?? e.from_id, node);
        if (a) this.addArtifact(a.hash, a.path, 'up');
        else this.addGeneric(e.from_id, 'up');
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
      const known = this.store.cachedFileHash(relPath, size, mtime);
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
          node.staleReason = now === null ? `input ${i.path} no longer exists` : `input ${i.path} changed since this step ran`;
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
