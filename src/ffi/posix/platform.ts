/**
 * The POSIX platform (Linux, macOS) over libc: `flock` on the lock file,
 * `mmap(MAP_SHARED)` of the data file, `statx`/`fstat` for identities.
 * Each concern has its own module; this one puts them together for the
 * running OS and architecture.
 *
 * @module
 */

import { posix as posixPath } from "node:path";
import { openLibc } from "./libc.ts";
import { type PosixConstants, posixConstants } from "./constants.ts";
import { posixErrors } from "./os_errors.ts";
import { posixProcess } from "./process.ts";
import { posixStat } from "./stat.ts";
import { posixFiles } from "./files.ts";
import { posixFlock } from "./flock.ts";
import { posixMapping } from "./mapping.ts";
import { posixWaits } from "./waits.ts";
import type { Platform } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";
import { wallClock } from "./wall_clock.ts";

/** Builds the POSIX platform for the running OS and architecture. */
export function posixPlatform(): Platform {
  const c: PosixConstants = posixConstants(runtime.os, runtime.arch);
  const libc = openLibc(c);
  const errors = posixErrors(libc);
  // Atomics.wait on a private word: a sleep that blocks the thread.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number) => void Atomics.wait(sleeper, 0, 0, ms);
  return {
    os: runtime.os,
    arch: runtime.arch,
    table: c.table,
    path: posixPath,
    now: wallClock(libc, runtime.os),
    ...posixProcess(libc, errors),
    ...posixStat(libc, c, errors),
    ...posixFiles(libc, c, errors),
    ...posixFlock(libc, c, errors),
    ...posixMapping(libc, c, errors.fail),
    sleep,
    ...posixWaits(libc, c, sleep),
  };
}
