/**
 * Creating a file with exactly a given mode, atomically: never visible at
 * its path with the umask's mode, never replacing a file someone else
 * created first.
 *
 * @module
 */

import { posix as posixPath } from "node:path";
import type { Libc } from "./libc.ts";
import type { PosixErrors } from "./os_errors.ts";
import type { PosixConstants } from "./constants.ts";
import { cString } from "./c_string.ts";
import type { Handle } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";

/** `renameat2` flag: fail with EEXIST rather than replace (include/uapi/linux/fs.h). */
const RENAME_NOREPLACE = 1;

/**
 * Builds `createExclusive(path, mode)`: creates `path` with exactly `mode`
 * so that it never exists with another mode — a private temporary file in
 * the same directory is given the mode, then published under `path`,
 * failing if someone else created `path` first. Linux renames it into place
 * (`RENAME_NOREPLACE`), so the file never has a second name; macOS, and
 * Linux filesystems without that flag, hard-link it and unlink the
 * temporary name — a process killed in between leaves `path` with two
 * links, which the lock refuses. Returns the open file, or `null` when
 * `path` already exists.
 *
 * The temporary name is short and fixed-length, so any `path` whose own
 * name fits (`NAME.lock` included) can be created.
 */
export function posixCreateExclusive(
  libc: Libc,
  c: PosixConstants,
  { E, error, fail }: PosixErrors,
): (path: string, mode: number) => Handle | null {
  /**
   * `renameat2(from, to, RENAME_NOREPLACE)`: 0, or the errno (`EEXIST` when
   * `to` exists). `undefined` where the OS has no such call (macOS).
   */
  const renameNoReplace = c.SYS_renameat2 === 0
    ? undefined
    : (from: Uint8Array, to: Uint8Array): number => {
      // dirfd is an `int`: the kernel reads the low 32 bits of the word.
      const here = c.AT_FDCWD >>> 0;
      const r = libc.syscall(
        c.SYS_renameat2,
        here,
        runtime.addressOf(from),
        here,
        runtime.addressOf(to),
        RENAME_NOREPLACE,
        0,
      );
      const e = r === 0 ? 0 : libc.errno();
      // Both paths are referenced until here: the kernel reads them.
      void [from, to];
      return e;
    };

  return (path, mode) => {
    const directory = posixPath.dirname(path);
    const template = cString(posixPath.join(directory, ".memshare-XXXXXX"));
    const fd = libc.mkostemp(template, c.O_CLOEXEC);
    if (fd < 0) fail("mkostemp", directory);
    // mkostemp wrote the chosen name into `template`.
    const temporary = template;
    const target = cString(path);
    // Once renamed, the temporary name is not ours to unlink: another
    // process's mkostemp may already have reused it.
    let temporaryNamed = true;
    try {
      if (libc.fchmod(fd, mode) !== 0) fail("fchmod", path);
      const e = renameNoReplace?.(temporary, target) ?? E.ENOSYS;
      if (e === 0) {
        temporaryNamed = false;
        return fd;
      }
      if (e === E.EEXIST) {
        libc.close(fd);
        return null;
      }
      // EINVAL: a filesystem without RENAME_NOREPLACE; ENOSYS: a kernel
      // without renameat2, or macOS; EPERM: a seccomp filter refusing it.
      if (e !== E.EINVAL && e !== E.ENOSYS && e !== E.EPERM) {
        throw error("renameat2", e, path);
      }
      if (libc.link(temporary, target) !== 0) {
        const e = libc.errno();
        if (e === E.EEXIST) {
          libc.close(fd);
          return null;
        }
        throw error("link", e, path);
      }
      return fd;
    } catch (e) {
      libc.close(fd);
      throw e;
    } finally {
      if (temporaryNamed) libc.unlink(temporary);
    }
  };
}
