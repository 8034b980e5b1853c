/**
 * Files and directories over libc: opening lock and data files (never
 * through a symlink, created with an exact mode), the default directory,
 * the directory hold that keeps cleaners away, reads, growth and closing.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { PosixErrors } from "./os_errors.ts";
import type { PosixConstants } from "./constants.ts";
import { cString } from "./c_string.ts";
import { posixCreateExclusive } from "./create_exclusive.ts";
import { posixReadFile } from "./read_file.ts";
import type { Platform } from "../platform.ts";

/** Builds the POSIX platform's file and directory operations. */
export function posixFiles(
  libc: Libc,
  c: PosixConstants,
  errors: PosixErrors,
): Pick<
  Platform,
  | "makeDirectory"
  | "openFile"
  | "holdDirectory"
  | "readFile"
  | "readAt"
  | "extend"
  | "close"
> {
  const { E, error, fail } = errors;
  const openFlags = c.O_RDWR | c.O_NOFOLLOW | c.O_CLOEXEC | c.O_NONBLOCK;
  const createExclusive = posixCreateExclusive(libc, c, errors);
  return {
    makeDirectory(path, mode) {
      const p = cString(path);
      if (libc.mkdir(p, mode) !== 0) {
        const e = libc.errno();
        if (e === E.EEXIST) return false;
        throw error("mkdir", e, path);
      }
      // mkdir applies the umask; set exactly what was asked.
      const fd = libc.open(
        p,
        c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW | c.O_CLOEXEC,
      );
      if (fd < 0) fail("open", path);
      try {
        if (libc.fchmod(fd, mode) !== 0) fail("fchmod", path);
      } finally {
        libc.close(fd);
      }
      return true;
    },
    openFile(path, create, mode) {
      const p = cString(path);
      for (let attempt = 0; attempt < 100; attempt++) {
        const fd = libc.open(p, openFlags);
        if (fd >= 0) return fd;
        const e = libc.errno();
        if (e === E.EINTR) continue;
        if (e !== E.ENOENT || !create) throw error("open", e, path);
        const created = createExclusive(path, mode);
        if (created !== null) return created;
      }
      throw error("open", E.EEXIST, path);
    },
    holdDirectory(path) {
      const fd = libc.open(
        cString(path),
        c.O_RDONLY | c.O_DIRECTORY | c.O_CLOEXEC,
      );
      if (fd < 0) return null;
      // Never waits: a cleaner holds its exclusive lock only while it scans.
      if (libc.flock(fd, c.LOCK_SH | c.LOCK_NB) === 0) return fd;
      libc.close(fd);
      return null;
    },
    readFile: posixReadFile(libc, c, E, error),
    readAt(fd, into, offset) {
      const n = libc.pread(fd, into, into.length, offset);
      if (n < 0) fail("pread");
      return n;
    },
    extend(fd, size) {
      if (libc.posix_fallocate !== undefined) {
        const e = libc.posix_fallocate(fd, 0, size);
        if (e === 0) return;
        if (e !== E.EOPNOTSUPP && e !== E.ENOTSUP && e !== E.EINVAL) {
          throw error("posix_fallocate", e);
        }
      }
      if (libc.ftruncate(fd, size) !== 0) fail("ftruncate");
    },
    close(fd) {
      // close() is never retried on EINTR: the fd is released either way.
      libc.close(fd);
    },
  };
}
