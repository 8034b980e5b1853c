/**
 * Failed libc calls as `OsError`s: the errno by name (`ELOOP`, not `40`),
 * the system's message for it, and the errno values the POSIX platform
 * tells apart, which differ between Linux and macOS.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import { errnoNames } from "./errno.ts";
import { OsError } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";

/** The errno values the platform tests for, on the running OS. */
export interface Errnos {
  readonly EPERM: number;
  readonly ENOENT: number;
  readonly EINTR: number;
  readonly EEXIST: number;
  readonly ENOTDIR: number;
  readonly EINVAL: number;
  readonly EAGAIN: number;
  readonly EOPNOTSUPP: number;
  readonly ENOTSUP: number;
  readonly ENOSYS: number;
}

/** Builds the `OsError` for `errno`, which `syscall` (on `path`) failed with. */
export type MakeError = (
  syscall: string,
  errno: number,
  path?: string,
) => OsError;

/** Throws the `OsError` for the errno a just-failed `syscall` left. */
export type Fail = (syscall: string, path?: string) => never;

/** What the platform's parts use to tell and report errors. */
export interface PosixErrors {
  /** The errno values to compare with. */
  readonly E: Errnos;
  /** errno names by value, on the running OS. */
  readonly names: Readonly<Record<number, string>>;
  /** See `MakeError`. */
  readonly error: MakeError;
  /** See `Fail`. */
  readonly fail: Fail;
}

/** The errors of the running OS, over `libc`'s errno and strerror. */
export function posixErrors(libc: Libc): PosixErrors {
  const names = errnoNames(runtime.os);
  const E: Errnos = {
    EPERM: 1,
    ENOENT: 2,
    EINTR: 4,
    EEXIST: 17,
    ENOTDIR: 20,
    EINVAL: 22,
    EAGAIN: runtime.os === "darwin" ? 35 : 11,
    EOPNOTSUPP: runtime.os === "darwin" ? 102 : 95,
    ENOTSUP: runtime.os === "darwin" ? 45 : 95,
    ENOSYS: runtime.os === "darwin" ? 78 : 38,
  };
  function error(syscall: string, errno: number, path?: string): OsError {
    return new OsError(
      syscall,
      errno,
      names[errno] ?? `errno ${errno}`,
      runtime.cString(libc.strerror(errno)),
      path,
    );
  }
  function fail(syscall: string, path?: string): never {
    throw error(syscall, libc.errno(), path);
  }
  return { E, names, error, fail };
}
