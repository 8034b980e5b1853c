/**
 * `Platform.readFile` over libc: `open` read-only, `read` to end of file,
 * `close`. Sequential `read`, not `pread`: some virtual files (pipes,
 * character devices) have no offsets to read at.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { OsError } from "../platform.ts";
import type { PosixConstants } from "./constants.ts";
import { readToEnd } from "../read_to_end.ts";

/** The errno values `readFile` tells apart (the POSIX platform's table). */
export interface ReadFileErrnos {
  readonly ENOENT: number;
  readonly EINTR: number;
  readonly ENOTDIR: number;
}

/** Builds `readFile` for the POSIX platform; `error` names an errno as `OsError`. */
export function posixReadFile(
  libc: Libc,
  c: PosixConstants,
  E: ReadFileErrnos,
  error: (syscall: string, errno: number, path: string) => OsError,
): (path: string) => Uint8Array | null {
  const encoder = new TextEncoder();
  const flags = c.O_RDONLY | c.O_CLOEXEC;
  return (path) => {
    const p = encoder.encode(path + "\0");
    let fd: number;
    for (;;) {
      fd = libc.open(p, flags);
      if (fd >= 0) break;
      const e = libc.errno();
      if (e === E.ENOENT || e === E.ENOTDIR) return null;
      if (e !== E.EINTR) throw error("open", e, path);
    }
    try {
      return readToEnd((into) => {
        for (;;) {
          const n = libc.read(fd, into, into.length);
          if (n >= 0) return n;
          const e = libc.errno();
          if (e !== E.EINTR) throw error("read", e, path);
        }
      });
    } finally {
      // Never retried on EINTR: the fd is released either way.
      libc.close(fd);
    }
  };
}
