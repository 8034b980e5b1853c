/**
 * The Windows platform over kernel32: `LockFileEx` on byte 0 (length 1) of
 * the lock file — the range Python's filelock locks — and
 * `CreateFileMappingW` + `MapViewOfFile` of the data file.
 *
 * Files are opened with every share mode (other processes open them, tools
 * may delete them, as on POSIX); lock and data files also with
 * `FILE_FLAG_OPEN_REPARSE_POINT`, so a symlink or junction at a lock or data
 * path is opened itself, seen, and refused (`ELOOP`) — never followed
 * (`readFile`, a plain reader, follows links as POSIX `open` does).
 * Handles are not inheritable (no security attributes), the equivalent of
 * `O_CLOEXEC`.
 *
 * Windows has no permission bits: `mode` is not applied (files and the
 * default directory inherit the ACL of their directory; `%TEMP%` is private
 * to the user), and `uid()` is -1 so that the engine skips its owner checks.
 *
 * Waiting sleeps until the OS lock is released (`waits.ts`).
 *
 * Each concern has its own module; this one puts them together.
 *
 * @module
 */

import { win32 as windowsPath } from "node:path";
import { openKernel32 } from "./kernel32.ts";
import { windowsErrors } from "./errors.ts";
import { windowsProcess } from "./process.ts";
import { windowsStat } from "./stat.ts";
import { windowsFiles } from "./files.ts";
import { windowsLockFile } from "./lock_file.ts";
import { windowsMapping } from "./mapping.ts";
import { windowsWakeNames } from "./wake_names.ts";
import { windowsWaits } from "./waits.ts";
import type { Platform } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";

/** Builds the Windows platform. */
export function windowsPlatform(): Platform {
  const k = openKernel32();
  const errors = windowsErrors(k);
  // Atomics.wait on a private word: a sleep that blocks the thread.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);
  const waits = windowsWaits(k, windowsWakeNames(k), sleep);
  const stat = windowsStat(k, errors);
  return {
    os: "windows",
    arch: runtime.arch,
    table: `windows-${runtime.arch}`,
    path: windowsPath,
    now: Date.now,
    ...windowsProcess(k, errors),
    ...stat,
    ...windowsFiles(k, errors, stat.statHandle),
    ...windowsLockFile(k, errors, waits),
    ...windowsMapping(k, errors),
    // The wait members only: `releaseGranted` is for `tryLock` alone.
    wakeups: waits.wakeups,
    wake: waits.wake,
    waitSync: waits.waitSync,
    waitAny: waits.waitAny,
    interruptWait: waits.interruptWait,
    sleep,
  };
}
