/**
 * The libc binding: C signatures of the functions the POSIX platform calls,
 * bound through the runtime adapter, plus `errno` read straight from the
 * thread's errno slot.
 *
 * No variadic function is bound with a variadic argument that matters:
 * `open` is bound with two arguments (creation goes through `mkostemp` +
 * `fchmod` + `renameat2` through `syscall`, or `link` where there is none),
 * because macOS arm64 passes variadic arguments on the
 * stack where a fixed-arity FFI call puts them in registers.
 *
 * @module
 */

import {
  type ForeignFunction,
  type ForeignInterface,
  type Pointer,
  runtime,
} from "../runtime/runtime.ts";
import type { PosixConstants } from "./constants.ts";

/** The libc functions we call, as JavaScript sees them. */
export interface Libc {
  open(path: Uint8Array, flags: number): number;
  close(fd: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  flock(fd: number, operation: number): number;
  ftruncate(fd: number, length: number): number;
  pread(fd: number, buf: Uint8Array, count: number, offset: number): number;
  mmap(
    addr: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ): Pointer;
  munmap(addr: Pointer, length: number): number;
  msync(addr: Pointer, length: number, flags: number): number;
  mkdir(path: Uint8Array, mode: number): number;
  fchmod(fd: number, mode: number): number;
  mkostemp(template: Uint8Array, flags: number): number;
  link(from: Uint8Array, to: Uint8Array): number;
  unlink(path: Uint8Array): number;
  getpid(): number;
  getuid(): number;
  kill(pid: number, signal: number): number;
  getenv(name: Uint8Array): Pointer;
  getcwd(buf: Uint8Array, size: number): Pointer;
  strerror(errno: number): Pointer;
  /** Linux only. */
  statx?(
    dirfd: number,
    path: Uint8Array,
    flags: number,
    mask: number,
    buf: Uint8Array,
  ): number;
  /** macOS only. */
  fstat?(fd: number, buf: Uint8Array): number;
  /** macOS only. */
  fstatat?(
    dirfd: number,
    path: Uint8Array,
    buf: Uint8Array,
    flags: number,
  ): number;
  /** Where present (not macOS); returns an errno value, not -1. */
  posix_fallocate?(fd: number, offset: number, length: number): number;
  /** `syscall(2)` with six word-sized arguments (Linux registers; used for futex). */
  syscall(
    number: number,
    a1: number,
    a2: number,
    a3: number,
    a4: number,
    a5: number,
    a6: number,
  ): number;
  clock_gettime(clock: number, timespec: BigInt64Array | Int32Array): number;
  /** The calling thread's current errno. */
  errno(): number;
  /** The shared library path libc was opened from. */
  readonly path: string;
}

/** `syscall(2)` as bound: six word-sized arguments, so every one goes in a register. */
export const SYSCALL: ForeignFunction = {
  parameters: ["i64", "usize", "usize", "usize", "usize", "usize", "usize"],
  result: "i64",
};

const COMMON: ForeignInterface = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  mkostemp: { parameters: ["buffer", "i32"], result: "i32" },
  link: { parameters: ["buffer", "buffer"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  getenv: { parameters: ["buffer"], result: "pointer" },
  getcwd: { parameters: ["buffer", "usize"], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  syscall: SYSCALL,
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
};

/** Opens libc and binds the functions for this OS's constant table. */
export function openLibc(c: PosixConstants): Libc {
  const symbols: Record<string, ForeignFunction> = {
    ...COMMON,
    [c.errnoLocation]: { parameters: [], result: "pointer" },
  };
  if (c.stat.kind === "statx") {
    symbols.statx = {
      parameters: ["i32", "buffer", "i32", "u32", "buffer"],
      result: "i32",
    };
  } else {
    symbols[c.stat.fstat] = {
      parameters: ["i32", "buffer"],
      result: "i32",
    };
    symbols[c.stat.fstatat] = {
      parameters: ["i32", "buffer", "buffer", "i32"],
      result: "i32",
    };
  }
  const path = firstLibrary(c.libc, symbols);
  const fns = runtime.open(path, symbols);
  const optional = tryOpen(path, {
    posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  });

  // errno lives at a fixed address per thread: view it once, read it cheaply.
  const errnoAt = (fns[c.errnoLocation] as () => Pointer)();
  const errnoView = new Int32Array(runtime.arrayBuffer(errnoAt, 0, 4));

  const libc = {
    ...fns,
    path,
    posix_fallocate: optional?.posix_fallocate,
    errno: () => errnoView[0],
  } as unknown as Record<string, unknown>;
  if (c.stat.kind === "stat") {
    libc.fstat = fns[c.stat.fstat];
    libc.fstatat = fns[c.stat.fstatat];
  }
  // 64-bit results may come back as bigint (Deno for large values, Bun always).
  const pread = fns.pread as (...a: unknown[]) => number | bigint;
  libc.pread = (...a: unknown[]) => Number(pread(...a));
  const read = fns.read as (...a: unknown[]) => number | bigint;
  libc.read = (...a: unknown[]) => Number(read(...a));
  const syscall = fns.syscall as (...a: unknown[]) => number | bigint;
  libc.syscall = (...a: unknown[]) => Number(syscall(...a));
  return libc as unknown as Libc;
}

function firstLibrary(
  candidates: readonly string[],
  symbols: ForeignInterface,
): string {
  let first: unknown;
  for (const path of candidates) {
    try {
      runtime.open(path, { getpid: symbols.getpid });
      return path;
    } catch (error) {
      // Missing permission is not a missing library: say so, do not try on.
      const name = (error as Error).name;
      if (name === "NotCapable" || name === "PermissionDenied") throw error;
      first ??= error;
    }
  }
  throw new Error(
    `memshare could not open libc (tried ${candidates.join(", ")}): ${first}`,
  );
}

function tryOpen(
  path: string,
  symbols: ForeignInterface,
): Record<string, unknown> | undefined {
  try {
    return runtime.open(path, symbols);
  } catch {
    return undefined;
  }
}
