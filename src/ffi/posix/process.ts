/**
 * This process and its surroundings over libc: pid, uid, current
 * directory, environment (read through libc, so Deno needs no `--allow-env`),
 * the default lock directory, and whether another process is alive.
 *
 * @module
 */

import { posix as posixPath } from "node:path";
import type { Libc } from "./libc.ts";
import type { PosixErrors } from "./os_errors.ts";
import { cString } from "./c_string.ts";
import type { Platform } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";

/** Builds the POSIX platform's process and environment members. */
export function posixProcess(
  libc: Libc,
  { E, fail }: PosixErrors,
): Pick<
  Platform,
  "pid" | "uid" | "cwd" | "env" | "defaultDirectory" | "processAlive"
> {
  const getenv = (name: string): string | undefined => {
    const p = libc.getenv(cString(name));
    return runtime.address(p) === 0n ? undefined : runtime.cString(p);
  };
  return {
    pid: () => libc.getpid(),
    uid: () => libc.getuid(),
    cwd() {
      const buf = new Uint8Array(4096);
      if (runtime.address(libc.getcwd(buf, buf.length)) === 0n) fail("getcwd");
      return new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
    },
    env: getenv,
    defaultDirectory() {
      if (runtime.os === "darwin") {
        const tmp = getenv("TMPDIR");
        if (tmp !== undefined && posixPath.isAbsolute(tmp)) {
          return posixPath.join(tmp, "memshare");
        }
      } else {
        const xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg !== undefined && posixPath.isAbsolute(xdg)) {
          return posixPath.join(xdg, "memshare");
        }
      }
      return `/tmp/memshare-${libc.getuid()}`;
    },
    processAlive(pid) {
      if (libc.kill(pid, 0) === 0) return true;
      // EPERM: it exists, but belongs to another user.
      return libc.errno() === E.EPERM;
    },
  };
}
