/**
 * Who holds an `flock` on which file, from Linux's `/proc/locks`.
 *
 * This is how the CLI sees holders that keep no memshare header — flock(1),
 * Python's filelock — without taking or probing any lock itself. The file
 * is read through libc, not node:fs, because Deno refuses every node:fs read
 * under /proc unless run with --allow-all; libc needs only --allow-ffi.
 *
 * @module
 */

import type { FileId } from "../ffi/platform.ts";
import { posixConstants } from "../ffi/posix_constants.ts";
import { type NativeFunction, runtime } from "../ffi/runtime.ts";

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
export function readProcLocks(): FlockEntry[] | null {
  if (runtime.os !== "linux") return null;
  const text = readWholeFile("/proc/locks");
  return text === null ? null : parseProcLocks(text);
}

/** Whether two file identities are the same file. */
export function sameFile(a: FileId, b: FileId): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

interface ReadCalls {
  open(path: Uint8Array, flags: number): number;
  read(fd: number, into: Uint8Array, count: number): number | bigint;
  close(fd: number): number;
}

let calls: ReadCalls | null | undefined;

/** Binds open/read/close once; `null` if no libc could be opened. */
function bind(): ReadCalls | null {
  if (calls !== undefined) return calls;
  calls = null;
  for (const library of posixConstants(runtime.os, runtime.arch).libc) {
    try {
      const fns: Record<string, NativeFunction> = runtime.open(library, {
        open: { parameters: ["buffer", "i32"], result: "i32" },
        read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
        close: { parameters: ["i32"], result: "i32" },
      });
      calls = fns as unknown as ReadCalls;
      break;
    } catch {
      // Try the next candidate (glibc, then musl).
    }
  }
  return calls;
}

/** Reads a whole (small, virtual) file read-only; `null` when it cannot be opened. */
function readWholeFile(path: string): string | null {
  const libc = bind();
  if (libc === null) return null;
  const c = posixConstants(runtime.os, runtime.arch);
  const fd = libc.open(
    new TextEncoder().encode(path + "\0"),
    c.O_RDONLY | c.O_CLOEXEC,
  );
  if (fd < 0) return null;
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = new Uint8Array(65536);
      const n = Number(libc.read(fd, chunk, chunk.length));
      // A failed read mid-way leaves a truncated list: treat it as unreadable.
      if (n < 0) return null;
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    const decoder = new TextDecoder();
    return chunks.map((chunk) => decoder.decode(chunk, { stream: true }))
      .join("") + decoder.decode();
  } finally {
    libc.close(fd);
  }
}
