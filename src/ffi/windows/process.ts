/**
 * This process and its surroundings over kernel32: pid, current directory,
 * environment (read through kernel32, so Deno needs no `--allow-env`), the
 * default lock directory under `%TEMP%`, and whether another process is
 * alive. `uid()` is -1, so the engine skips its owner checks: Windows
 * files have ACLs, not an owning uid and mode bits.
 *
 * @module
 */

import { win32 as windowsPath } from "node:path";
import type { Kernel32 } from "./kernel32.ts";
import type { WindowsErrors } from "./errors.ts";
import {
  ERROR,
  PROCESS_QUERY_LIMITED_INFORMATION,
  SYNCHRONIZE,
  WAIT_TIMEOUT,
} from "./constants.ts";
import type { Platform } from "../platform.ts";
import { readWide, wide, wideBuffer } from "./utf16.ts";

/** Builds the Windows platform's process and environment members. */
export function windowsProcess(
  k: Kernel32,
  { error, fail }: WindowsErrors,
): Pick<
  Platform,
  "pid" | "uid" | "cwd" | "env" | "defaultDirectory" | "processAlive"
> {
  function getTempPath(): string {
    const buffer = wideBuffer(1024);
    const n = k.GetTempPathW(1024, buffer);
    if (n === 0 || n > 1024) fail("GetTempPathW");
    return readWide(buffer, n);
  }

  return {
    pid: () => k.GetCurrentProcessId(),
    uid: () => -1,
    cwd() {
      for (let size = 512;;) {
        const buffer = wideBuffer(size);
        const n = k.GetCurrentDirectoryW(size, buffer);
        if (n === 0) fail("GetCurrentDirectoryW");
        // Too small: n is the size needed, including the NUL.
        if (n < size) return readWide(buffer, n);
        size = n;
      }
    },
    env(name) {
      const key = wide(name);
      for (let size = 256;;) {
        const buffer = wideBuffer(size);
        const n = k.GetEnvironmentVariableW(key, buffer, size);
        if (n === 0) {
          const e = k.GetLastError();
          if (e === ERROR.ENVVAR_NOT_FOUND) return undefined;
          if (e === ERROR.SUCCESS) return "";
          throw error("GetEnvironmentVariableW", e);
        }
        if (n < size) return readWide(buffer, n);
        size = n;
      }
    },
    defaultDirectory: () => windowsPath.join(getTempPath(), "memshare"),
    processAlive(pid) {
      const handle = k.OpenProcess(
        SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
        0,
        pid,
      );
      // Denied: it exists but belongs to someone else (as EPERM from kill).
      if (handle === 0) return k.GetLastError() === ERROR.ACCESS_DENIED;
      try {
        // An exited process lingers while someone holds a handle to it.
        return k.WaitForSingleObject(handle, 0) === WAIT_TIMEOUT;
      } finally {
        k.CloseHandle(handle);
      }
    },
  };
}
