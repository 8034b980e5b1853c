/**
 * Deno's own file locks (`Deno.FsFile.lock*`), the built-in peers of
 * memshare in Deno, described locally so Bun's type check passes.
 *
 * @module
 */

/** The part of `Deno.FsFile` the benchmarks use. */
export interface DenoFile {
  /** flock(LOCK_EX) on the calling thread. */
  lockSync(exclusive?: boolean): void;
  /** flock(LOCK_UN). */
  unlockSync(): void;
  /** flock(LOCK_EX) on a pool thread. */
  lock(exclusive?: boolean): Promise<void>;
  /** flock(LOCK_UN) on a pool thread. */
  unlock(): Promise<void>;
  /** Closes the file. */
  close(): void;
}

interface DenoFs {
  openSync(
    path: string,
    options: { read: boolean; write: boolean; create: boolean },
  ): DenoFile;
}

/** Opens `path` with `Deno.openSync` (created if missing); `undefined` outside Deno. */
export function openDenoFile(path: string): DenoFile | undefined {
  const deno = (globalThis as { Deno?: DenoFs }).Deno;
  return deno?.openSync(path, { read: true, write: true, create: true });
}
