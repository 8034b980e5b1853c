/**
 * The libc calls the benchmarks make on their own (raw baselines, the shared
 * control block, the clock), bound through the library's runtime adapter so
 * they cost exactly what the library's own FFI calls cost. Linux only: the
 * constants below are the Linux ones (sys/file.h, asm-generic/fcntl.h,
 * asm-generic/mman-common.h, linux/time.h).
 *
 * @module
 */

import { closeSync, openSync, statSync, truncateSync } from "node:fs";
import { type Pointer, runtime } from "../src/ffi/runtime/runtime.ts";

/** flock(2) operation: exclusive lock. */
export const LOCK_EX = 2;
/** flock(2) flag: do not block. */
export const LOCK_NB = 4;
/** flock(2) operation: unlock. */
export const LOCK_UN = 8;

const O_RDWR = 2;
const O_CLOEXEC = 0x80000;
const PROT_READ_WRITE = 1 | 2;
const MAP_SHARED = 1;
const CLOCK_MONOTONIC = 1;

/** The raw libc functions, as JavaScript sees them. */
export interface RawLibc {
  /** open(2) without a mode: the file must already exist. */
  open(path: Uint8Array, flags: number): number;
  /** close(2). */
  close(fd: number): number;
  /** flock(2); blocks the calling thread unless `LOCK_NB` is given. */
  flock(fd: number, operation: number): number;
  /** mmap(2). */
  mmap(
    addr: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ): Pointer;
  /** clock_gettime(2) into a 16-byte `struct timespec`. */
  clock_gettime(clock: number, timespec: Uint8Array): number;
}

/** libc, bound once. */
export const libc: RawLibc = runtime.open("libc.so.6", {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
}) as unknown as RawLibc;

const timespec = new Uint8Array(16);
const timespecWords = new Uint32Array(timespec.buffer);

/** CLOCK_MONOTONIC in ns: the same clock in every process of this machine. */
export function monoNs(): number {
  libc.clock_gettime(CLOCK_MONOTONIC, timespec);
  const w = timespecWords;
  return (w[0] + w[1] * 4294967296) * 1e9 + w[2];
}

/** Opens `path` read-write (creating it empty if missing) and returns the OS fd. */
export function openFd(path: string): number {
  closeSync(openSync(path, "a", 0o600));
  const fd = libc.open(
    new TextEncoder().encode(path + "\0"),
    O_RDWR | O_CLOEXEC,
  );
  if (fd < 0) throw new Error(`open ${path} failed`);
  return fd;
}

/** Maps the first `length` bytes of `path` shared (extending the file); never unmapped. */
export function mapFile(path: string, length: number): ArrayBuffer {
  const fd = openFd(path);
  if (statSync(path).size < length) truncateSync(path, length);
  const pointer = libc.mmap(null, length, PROT_READ_WRITE, MAP_SHARED, fd, 0);
  const address = runtime.address(pointer);
  if (address === 0n || address === 0xffff_ffff_ffff_ffffn) {
    throw new Error(`mmap ${path} failed`);
  }
  libc.close(fd); // the mapping keeps the file
  return runtime.arrayBuffer(pointer, 0, length);
}

interface DenoNonblockingFfi {
  dlopen(
    path: string,
    symbols: {
      flock: {
        parameters: ["i32", "i32"];
        result: "i32";
        nonblocking: true;
      };
    },
  ): { symbols: { flock(fd: number, op: number): Promise<number> } };
}

/**
 * Deno only: `flock` as a `nonblocking: true` FFI call (runs on a pool
 * thread, returns a promise); `undefined` elsewhere.
 */
export function nonblockingFlock():
  | ((fd: number, op: number) => Promise<number>)
  | undefined {
  const deno = (globalThis as unknown as { Deno?: DenoNonblockingFfi }).Deno;
  if (deno === undefined || runtime.name !== "deno") return undefined;
  const lib = deno.dlopen("libc.so.6", {
    flock: { parameters: ["i32", "i32"], result: "i32", nonblocking: true },
  });
  return lib.symbols.flock;
}
