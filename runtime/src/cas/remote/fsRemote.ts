import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256File } from '../../util/hash.js';
import { processAlive } from '../../util/process.js';
import {
  RemoteCorruptError,
  RemoteEntryError,
  RemoteMissingError,
  remoteEntrySchema,
  type Remote,
  type RemoteEntry,
} from './remote.js';

/**
 * A remote that is a directory on a shared filesystem (NFS, SMB, a mounted volume), as DVC's local remotes:
 *   objects/ab/cdef…   one file per object, read-only, named by its sha256
 *   entries/<key>.json one cache entry per step cache key
 *   tmp/               uploads in progress (`host~pid~random`), renamed into place when complete
 *   corrupt/           objects that failed verification on a get, kept for inspection
 */

/** Temp files of another host's writer are only removed once this old (its pid cannot be checked from here). */
const foreignTempAgeMs = 24 * 3600 * 1000;

export class FsRemote implements Remote {
  private readonly host = os.hostname().replace(/~/g, '-');
  private written = 0;

  constructor(
    readonly url: string,
    readonly root: string,
  ) {}

  private objectPath(hash: string): string {
    return path.join(this.root, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  private entryPath(key: string): string {
    return path.join(this.root, 'entries', `${key}.json`);
  }

  async hasObject(hash: string): Promise<boolean> {
    return exists(this.objectPath(hash));
  }

  private async tempPath(): Promise<string> {
    const dir = path.join(this.root, 'tmp');
    await fs.mkdir(dir, { recursive: true });
    return path.join(dir, `${this.host}~${process.pid}~${randomBytes(6).toString('hex')}`);
  }

  /** Writes `fill`'s file under a temp name, fsyncs it, renames it to `final` and fsyncs the folder. */
  private async atomically(final: string, fill: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = await this.tempPath();
    try {
      await fill(tmp);
      const handle = await fs.open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      faultHook(++this.written);
      await fs.mkdir(path.dirname(final), { recursive: true });
      await fs.rename(tmp, final);
      await syncDir(path.dirname(final));
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  async putObject(hash: string, file: string): Promise<'stored' | 'present'> {
    const final = this.objectPath(hash);
    if (await exists(final)) return 'present';
    await this.atomically(final, async (tmp) => {
      await fs.copyFile(file, tmp);
      // Hashed after the copy: a local file that changed meanwhile cannot land under a wrong name.
      const actual = await sha256File(tmp);
      if (actual !== hash) {
        throw new Error(
          `local object ${hash.slice(0, 12)} changed while pushing (now ${actual.slice(0, 12)}); run cairn gc`,
        );
      }
      await fs.chmod(tmp, 0o444);
    });
    return 'stored';
  }

  async getObject(hash: string, dest: string): Promise<void> {
    const source = this.objectPath(hash);
    try {
      await fs.copyFile(source, dest);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RemoteMissingError(this.url, hash);
      throw error;
    }
    const actual = await sha256File(dest);
    if (actual === hash) return;
    await fs.rm(dest, { force: true });
    // Moved aside, not deleted: a teammate may want to see it, and the next push of this object repairs the remote.
    const aside = path.join(this.root, 'corrupt', `${hash}.${Date.now()}`);
    await fs.mkdir(path.dirname(aside), { recursive: true });
    await fs.rename(source, aside).catch(() => undefined);
    throw new RemoteCorruptError(this.url, hash, actual);
  }

  async listObjects(): Promise<string[]> {
    const dir = path.join(this.root, 'objects');
    const out: string[] = [];
    for (const prefix of await readdirOrEmpty(dir)) {
      for (const rest of await readdirOrEmpty(path.join(dir, prefix))) out.push(prefix + rest);
    }
    return out;
  }

  async putEntry(entry: RemoteEntry): Promise<void> {
    const text = JSON.stringify(remoteEntrySchema.parse(entry), null, 1);
    await this.atomically(this.entryPath(entry.key), (tmp) => fs.writeFile(tmp, text));
  }

  async getEntry(key: string): Promise<RemoteEntry | undefined> {
    const file = this.entryPath(key);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RemoteEntryError(file, 'not JSON');
    }
    const parsed = remoteEntrySchema.safeParse(json);
    if (!parsed.success || parsed.data.key !== key) {
      const why = parsed.success
        ? 'its key is not its name'
        : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new RemoteEntryError(file, why);
    }
    return parsed.data;
  }

  async listEntries(): Promise<string[]> {
    const names = await readdirOrEmpty(path.join(this.root, 'entries'));
    return names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => n.slice(0, -'.json'.length));
  }

  /** Removes temp files of interrupted uploads: this host's dead writers', and any other host's a day old. */
  async cleanTemps(): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    let removed = 0;
    for (const name of await readdirOrEmpty(dir)) {
      const [host, pid] = name.split('~');
      const file = path.join(dir, name);
      let stale: boolean;
      if (host === this.host) stale = Number(pid) !== process.pid && !processAlive(Number(pid));
      else
        stale =
          Date.now() -
            (await fs.stat(file).then(
              (s) => s.mtimeMs,
              () => Date.now(),
            )) >
          foreignTempAgeMs;
      if (stale) {
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

/**
 * Test hook for an interrupted push: with CAIRN_REMOTE_KILL_AFTER=N the process kills itself (SIGKILL, as a crash or
 * a pulled cable would) after the N-th upload is complete under its temp name, before it is renamed into place.
 */
function faultHook(n: number): void {
  const after = Number(process.env.CAIRN_REMOTE_KILL_AFTER);
  if (Number.isInteger(after) && after > 0 && n >= after) process.kill(process.pid, 'SIGKILL');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some shared filesystems refuse fsync on a folder; the rename itself is still atomic there.
  } finally {
    await handle.close();
  }
}
