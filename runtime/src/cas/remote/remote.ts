import { z } from 'zod';
import { CairnError } from '../../util/errors.js';

/**
 * A shared artifact remote: content-addressed objects (the same hashes as `.cairn/objects/`) plus cache entries (what
 * a step's cache key produced), so a teammate's run is a cache hit here without a shared tracking database.
 *
 * Contract every implementation keeps (the filesystem one in fsRemote.ts; an S3-compatible one would map objects to
 * `objects/ab/cdef…` keys and the temp+rename to a single PUT, which S3 makes visible whole):
 * - `putObject` makes the object visible whole or not at all (temp name, fsync, rename); an object already present is
 *   skipped (pushes resume where they stopped); two writers of the same object both succeed (same bytes).
 * - `getObject` checks the hash of what it read before it lands at `dest`; a mismatch throws RemoteCorruptError and
 *   moves the bad object aside (so a re-push can repair it), nothing is written at `dest`.
 * - `putEntry` is written after every object it names, so a visible entry means its objects are there.
 * - `getEntry` parses with the schema below; an entry that does not parse is an error, never a hit.
 */

const hash64 = z.string().regex(/^[0-9a-f]{64}$/);

export const remoteEntrySchema = z
  .object({
    format: z.literal('cairn-cache-entry/1'),
    key: hash64,
    pipeline: z.string(),
    step: z.string(),
    outputs: z.record(
      z.string(),
      z.object({ path: z.string().min(1), hash: hash64, kind: z.enum(['file', 'dir']), size: z.number().int().min(0) }),
    ),
    /** Last value of each metric the step reported (carried into the run of a remote hit). */
    metrics: z.array(z.object({ key: z.string().min(1), value: z.number() })),
    /**
     * Every point the step reported, in the order reported (key, step, time, value): a remote hit's run gets the whole
     * history, as a local hit's does. Absent in entries of older Cairns: then only `metrics` is carried (at step 0).
     */
    history: z
      .array(z.object({ key: z.string().min(1), step: z.number(), time: z.number(), value: z.number() }))
      .optional(),
    user: z.string(),
    host: z.string(),
    createdAt: z.number().int(),
  })
  .strict();
export type RemoteEntry = z.infer<typeof remoteEntrySchema>;

export interface Remote {
  /** How messages name it (the URL as configured). */
  readonly url: string;
  hasObject(hash: string): Promise<boolean>;
  /** Stores the local file `file` (whose content hashes to `hash`); 'present' when it was there already. */
  putObject(hash: string, file: string): Promise<'stored' | 'present'>;
  /** Copies the object to `dest` (a temp path of the caller), hash-verified. */
  getObject(hash: string, dest: string): Promise<void>;
  listObjects(): Promise<string[]>;
  putEntry(entry: RemoteEntry): Promise<void>;
  getEntry(key: string): Promise<RemoteEntry | undefined>;
  listEntries(): Promise<string[]>;
  /** Removes leftovers of interrupted uploads that are certainly dead; returns how many. */
  cleanTemps(): Promise<number>;
}

/** The object on the remote does not hash to its name: not used, moved aside. */
export class RemoteCorruptError extends CairnError {
  constructor(
    readonly remote: string,
    readonly hash: string,
    actual: string,
  ) {
    super(
      'invalid',
      `object ${hash.slice(0, 12)} on the remote ${remote} is corrupt (its content hashes to ${actual.slice(0, 12)}); ` +
        'it was not used and was moved to corrupt/ on the remote — push it again from a workspace that has it',
    );
    this.name = 'RemoteCorruptError';
  }
}

export class RemoteMissingError extends CairnError {
  constructor(
    readonly remote: string,
    readonly hash: string,
  ) {
    super(
      'not-found',
      `object ${hash.slice(0, 12)} is missing on the remote ${remote}; push it from a workspace that has it`,
    );
    this.name = 'RemoteMissingError';
  }
}

/** A cache entry on the remote that does not parse: never a hit. */
export class RemoteEntryError extends CairnError {
  constructor(file: string, why: string) {
    super(
      'invalid',
      `cache entry ${file} on the remote is invalid (${why}); delete it (the step will run and push it again)`,
    );
    this.name = 'RemoteEntryError';
  }
}

/** A remote URL Cairn cannot use. */
export class RemoteUrlError extends CairnError {
  constructor(url: string, from: string, why: string) {
    super('invalid', `remote ${JSON.stringify(url)} (from ${from}): ${why}`);
    this.name = 'RemoteUrlError';
  }
}
