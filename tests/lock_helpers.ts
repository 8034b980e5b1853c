/**
 * Helpers for in-process lock tests: a fresh lock in a temp dir, and an
 * "outside holder" — a second open file description of the lock file,
 * which the OS treats like another process.
 *
 * @module
 */

import { currentPlatform } from "../src/ffi/current.ts";
import { MemoryShareLock, type MemoryShareLockOptions } from "../mod.ts";
import { tempDir, within } from "./helpers.ts";

let counter = 0;

/**
 * How long `dispose` lets `close()` take. It waits for a guard still held, by
 * contract, so a check that fails between an acquire and its release would
 * otherwise show only as "Promise resolution is still pending".
 */
const CLOSE_MS = 20_000;

/** `lock.close()`, or an error after `ms` saying what it waits for. */
export async function closeWithin(
  lock: MemoryShareLock,
  ms: number = CLOSE_MS,
): Promise<void> {
  await within(
    ms,
    lock.close(),
    () =>
      `close() of ${lock.path} still waits after ${ms} ms: a guard of this test is still held (did a check fail before its release?)`,
  );
}

/** A lock in a fresh temporary directory; `dispose` closes it (see `closeWithin`) and removes the directory. */
export function freshLock(
  options: Partial<MemoryShareLockOptions> = {},
): { lock: MemoryShareLock; dir: string; dispose: () => Promise<void> } {
  const dir = tempDir();
  const lock = new MemoryShareLock(`lock${++counter}`, {
    length: 64,
    dir: dir.path,
    ...options,
  });
  return {
    lock,
    dir: dir.path,
    dispose: async () => {
      await closeWithin(lock);
      dir.remove();
    },
  };
}

/** Holds `lockPath` through its own file handle, as another process would. */
export function outsideHolder(lockPath: string): {
  release: () => void;
  close: () => void;
} {
  const platform = currentPlatform();
  const handle = platform.openFile(lockPath, true, 0o600);
  if (!platform.tryLock(handle)) {
    platform.close(handle);
    throw new Error(`outside holder could not take ${lockPath}`);
  }
  let held = true;
  return {
    release() {
      if (held) platform.unlock(handle);
      held = false;
    },
    close() {
      this.release();
      platform.close(handle);
    },
  };
}

/** Whether an outside file handle could take the lock right now (it releases at once). */
export function outsideCanLock(lockPath: string): boolean {
  const platform = currentPlatform();
  const handle = platform.openFile(lockPath, true, 0o600);
  try {
    if (!platform.tryLock(handle)) return false;
    platform.unlock(handle);
    return true;
  } finally {
    platform.close(handle);
  }
}
