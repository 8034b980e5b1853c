/**
 * Who holds an `flock` on which file, from Linux's `/proc/locks`.
 *
 * This is how the CLI sees holders that keep no memshare header — flock(1),
 * Python's filelock — without taking or probing any lock itself. The file
 * is read through the platform (FFI), not node:fs, because Deno refuses every
 * node:fs read under /proc unless run with --allow-all; FFI needs only
 * --allow-ffi.
 *
 * @module
 */

import { type FileId, OsError, type Platform } from "../ffi/platform.ts";

/** One `flock(2)` lock held on a file, as `/proc/locks` lists it. */
export interface FlockEntry {
  /** The locked file, in `FileId` form: inode (low, high word), device major, minor. */
  readonly id: FileId;
  /** The process that took it; 0 when it is outside our pid namespace. */
  readonly pid: number;
  /** `WRITE` (exclusive, as memshare, filelock and flock(1) take it) rather than `READ`. */
  readonly exclusive: boolean;
}

const TWO_32 = 2n ** 32n;

/**
 * Parses `/proc/locks`, keeping granted FLOCK entries only: POSIX/OFD
 * record locks do not conflict with flock on Linux, and `->` lines are
 * processes still waiting, not holders.
 */
export function parseProcLocks(text: string): FlockEntry[] {
  const entries: FlockEntry[] = [];
  for (const line of text.split("\n")) {
    // "12: FLOCK  ADVISORY  WRITE 4242 fe:00:2146620 0 EOF"
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== "FLOCK") continue;
    const where = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/i.exec(fields[5] ?? "");
    if (where === null) continue;
    const inode = BigInt(where[3]);
    entries.push({
      id: [
        Number(inode % TWO_32),
        Number(inode / TWO_32),
        parseInt(where[1], 16),
        parseInt(where[2], 16),
      ],
      pid: Number(fields[4]) || 0,
      exclusive: fields[3] === "WRITE",
    });
  }
  return entries;
}

/** The granted flocks on this machine, or `null` where `/proc/locks` cannot be read (not Linux). */
export function readProcLocks(platform: Platform): FlockEntry[] | null {
  if (platform.os !== "linux") return null;
  let bytes: Uint8Array | null;
  try {
    bytes = platform.readFile("/proc/locks");
  } catch (error) {
    // Unreadable (a locked-down /proc): the status still shows everything
    // else, and says that holders without a header may be unseen.
    if (error instanceof OsError) return null;
    throw error;
  }
  return bytes === null
    ? null
    : parseProcLocks(new TextDecoder().decode(bytes));
}

/** Whether two file identities are the same file. */
export function sameFile(a: FileId, b: FileId): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}
