import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { sha256, sha256File } from '../util/hash.js';

/**
 * The content-addressed artifact store: `.cairn/objects/ab/cdef…` holds a file whose sha256 is `abcdef…`. Objects are
 * written to `.cairn/tmp/` first and renamed into place, so an object either exists whole or not at all (a SIGKILL
 * mid-write leaves only a temp file, removed by `gc`). A directory is stored as a manifest object listing its files.
 */

const manifestSchema = z.object({
  format: z.literal('cairn-tree/1'),
  // A manifest may come from elsewhere (a pulled artifact): its paths must stay below the folder they restore into.
  entries: z.array(
    z.object({
      path: z.string().refine(isTreePath, 'a relative path without `..`, `.` or empty parts'),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int(),
      executable: z.boolean(),
    }),
  ),
});
export type TreeManifest = z.infer<typeof manifestSchema>;

function isTreePath(p: string): boolean {
  if (p.length === 0 || p.startsWith('/')) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export interface StoredObject {
  hash: string;
  kind: 'file' | 'dir';
  /** Bytes of the file, or of every file of the directory. */
  size: number;
}

export class CorruptObjectError extends Error {
  constructor(
    readonly hash: string,
    actual: string,
  ) {
    super(
      `object ${hash.slice(0, 12)} in the artifact store is corrupt (its content hashes to ${actual.slice(0, 12)}); it was removed — run the step again with --force`,
    );
    this.name = 'CorruptObjectError';
  }
}

export class MissingObjectError extends Error {
  constructor(readonly hash: string) {
    super(
      `object ${hash.slice(0, 12)} is missing from the artifact store (removed by gc or by hand); the step will run again`,
    );
    this.name = 'MissingObjectError';
  }
}

export class ObjectStore {
  readonly objectsDir: string;
  readonly tmpDir: string;

  /** `cairnDir` is the workspace's `.cairn/` folder. */
  constructor(readonly cairnDir: string) {
    this.objectsDir = path.join(cairnDir, 'objects');
    this.tmpDir = path.join(cairnDir, 'tmp');
  }

  pathOf(hash: string): string {
    return path.join(this.objectsDir, hash.slice(0, 2), hash.slice(2));
  }

  async has(hash: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(hash));
      return true;
    } catch {
      return false;
    }
  }

  async tempPath(): Promise<string> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    // The pid in the name lets gc tell a live writer's temp file from a dead one's.
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Moves a complete temp file into place under its hash (or drops it when the object already exists). */
  private async install(tmp: string, hash: string): Promise<void> {
    const final = this.pathOf(hash);
    if (await this.has(hash)) {
      await fs.rm(tmp, { force: true });
      return;
    }
    await fs.mkdir(path.dirname(final), { recursive: true });
    await fs.chmod(tmp, 0o444);
    await fs.rename(tmp, final);
  }

  /**
   * Moves a complete file (in tmpDir) into place as `hash` after checking its content hashes to it; `verified`: the
   * caller has just hashed this very file (a remote's verified get), so it is not read a second time.
   */
  async adopt(tmp: string, hash: string, verified = false): Promise<void> {
    const actual = verified ? hash : await sha256File(tmp);
    if (actual !== hash) {
      await fs.rm(tmp, { force: true });
      throw new CorruptObjectError(hash, actual);
    }
    await this.install(tmp, hash);
  }

  /** Copies a file in; the hash is taken of the copy, so a file changing meanwhile cannot store a wrong name. */
  async putFile(file: string): Promise<StoredObject> {
    const tmp = await this.tempPath();
    try {
      await fs.copyFile(file, tmp);
      const [hash, stat] = await Promise.all([sha256File(tmp), fs.stat(tmp)]);
      await this.install(tmp, hash);
      return { hash, kind: 'file', size: stat.size };
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  async putBytes(data: string | Buffer): Promise<string> {
    const hash = sha256(data);
    if (await this.has(hash)) return hash;
    const tmp = await this.tempPath();
    await fs.writeFile(tmp, data);
    await this.install(tmp, hash);
    return hash;
  }

  /** Stores a file or a whole directory (its files, then its manifest). */
  async putPath(target: string): Promise<StoredObject> {
    const stat = await fs.stat(target);
    if (!stat.isDirectory()) return this.putFile(target);
    const entries: TreeManifest['entries'] = [];
    let size = 0;
    for (const rel of await listTree(target)) {
      const abs = path.join(target, rel);
      const st = await fs.stat(abs);
      const stored = await this.putFile(abs);
      entries.push({ path: rel, hash: stored.hash, size: stored.size, executable: (st.mode & 0o111) !== 0 });
      size += stored.size;
    }
    const hash = await this.putBytes(manifestText(entries));
    return { hash, kind: 'dir', size };
  }

  /** Reads an object and checks its hash; a corrupt object is deleted so it cannot be served again. */
  async verify(hash: string): Promise<void> {
    const file = this.pathOf(hash);
    let actual: string;
    try {
      actual = await sha256File(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(hash);
      throw error;
    }
    if (actual !== hash) {
      await fs.rm(file, { force: true });
      throw new CorruptObjectError(hash, actual);
    }
  }

  async readManifest(hash: string): Promise<TreeManifest> {
    await this.verify(hash);
    const parsed = manifestSchema.safeParse(JSON.parse(await fs.readFile(this.pathOf(hash), 'utf8')));
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(
        `object ${hash.slice(0, 12)} is not a valid folder manifest (${why}); nothing was restored from it`,
      );
    }
    return parsed.data;
  }

  /** Writes the object to `dest` (verified first; replaced atomically by rename). */
  async restore(hash: string, kind: 'file' | 'dir', dest: string): Promise<void> {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    if (kind === 'file') {
      await this.verify(hash);
      const tmp = `${dest}.cairn-${process.pid}-${randomBytes(4).toString('hex')}`;
      await fs.copyFile(this.pathOf(hash), tmp);
      await fs.chmod(tmp, 0o644);
      await fs.rename(tmp, dest);
      return;
    }
    const manifest = await this.readManifest(hash);
    const tmpDir = `${dest}.cairn-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      for (const e of manifest.entries) {
        await this.verify(e.hash);
        const out = path.join(tmpDir, e.path);
        await fs.mkdir(path.dirname(out), { recursive: true });
        await fs.copyFile(this.pathOf(e.hash), out);
        await fs.chmod(out, e.executable ? 0o755 : 0o644);
      }
      await fs.mkdir(tmpDir, { recursive: true });
      await fs.rm(dest, { recursive: true, force: true });
      await fs.rename(tmpDir, dest);
    } catch (error) {
      await fs.rm(tmpDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Every object hash in the store. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    let prefixes: string[];
    try {
      prefixes = await fs.readdir(this.objectsDir);
    } catch {
      return out;
    }
    for (const p of prefixes) {
      for (const rest of await fs.readdir(path.join(this.objectsDir, p))) out.push(p + rest);
    }
    return out;
  }

  /**
   * Removes objects not in `referenced` (directory manifests keep their files) and temp files of writers that are
   * gone. Returns what was (or, with dryRun, would be) removed.
   */
  async gc(
    referenced: Iterable<{ hash: string; kind: 'file' | 'dir' }>,
    dryRun = false,
  ): Promise<{ removed: string[]; bytes: number; tempFiles: number }> {
    const keep = new Set<string>();
    for (const r of referenced) {
      keep.add(r.hash);
      if (r.kind === 'dir' && (await this.has(r.hash))) {
        try {
          for (const e of (await this.readManifest(r.hash)).entries) keep.add(e.hash);
        } catch {
          // A corrupt manifest was just deleted by readManifest: its files are unreferenced now.
          keep.delete(r.hash);
        }
      }
    }
    const removed: string[] = [];
    let bytes = 0;
    for (const hash of await this.list()) {
      if (keep.has(hash)) continue;
      const file = this.pathOf(hash);
      bytes += (await fs.stat(file)).size;
      removed.push(hash);
      if (!dryRun) await fs.rm(file, { force: true });
    }
    let tempFiles = 0;
    let temps: string[] = [];
    try {
      temps = await fs.readdir(this.tmpDir);
    } catch {
      temps = [];
    }
    for (const t of temps) {
      const pid = Number(t.split('-')[0]);
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
        tempFiles++;
        if (!dryRun) await fs.rm(path.join(this.tmpDir, t), { force: true, recursive: true });
      }
    }
    return { removed, bytes, tempFiles };
  }
}

export function manifestText(entries: TreeManifest['entries']): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return JSON.stringify({ format: 'cairn-tree/1', entries: sorted });
}

/** Files below `dir`, relative, '/'-separated, sorted (symlinks followed as files; empty folders are not kept). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else out.push(child);
    }
  };
  await walk('');
  return out;
}

/** The hash a path would get in the store (a directory's is its manifest's), without storing anything. */
export async function hashPath(target: string): Promise<StoredObject> {
  const stat = await fs.stat(target);
  if (!stat.isDirectory()) return { hash: await sha256File(target), kind: 'file', size: stat.size };
  const entries: TreeManifest['entries'] = [];
  let size = 0;
  for (const rel of await listTree(target)) {
    const abs = path.join(target, rel);
    const st = await fs.stat(abs);
    entries.push({ path: rel, hash: await sha256File(abs), size: st.size, executable: (st.mode & 0o111) !== 0 });
    size += st.size;
  }
  return { hash: sha256(manifestText(entries)), kind: 'dir', size };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
