/**
 * OS errors met at a lock or data file, retold as `LockFileError`s that say
 * in words what is wrong with the file (a symlink, a full disk) and what
 * memshare was doing, so a user can fix it without knowing errno names.
 *
 * @module
 */

import { OsError } from "../../ffi/platform.ts";
import { LockFileError } from "../../errors.ts";

/** What each OS error code means for a lock or data file, by name. */
const REASONS: Record<string, string> = {
  ELOOP:
    "is a symbolic link; memshare never follows a symlink at a lock or data path",
  EISDIR: "is a directory, not a file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "its directory does not exist",
  ENOTDIR: "a parent of it is not a directory",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "the filesystem is read-only",
  ENXIO: "is a FIFO, socket or device, not a regular file",
  ERROR_ACCESS_DENIED: "access denied (or the file is being deleted)",
  ERROR_SHARING_VIOLATION: "another program has it open without sharing",
  ERROR_LOCK_VIOLATION: "another program holds a lock on it",
  ERROR_DISK_FULL: "no space left on the device",
};

/**
 * `error` as a `LockFileError` on `path` that explains it and says what was
 * being done (`doing`); anything but an `OsError` is returned unchanged.
 */
export function explain(path: string, error: unknown, doing: string): unknown {
  if (!(error instanceof OsError)) return error;
  const reason = REASONS[error.code] ?? error.message;
  return new LockFileError(
    path,
    error.code,
    `${reason} (${doing}: ${error.message})`,
    error,
  );
}

/** Runs `fn`, throwing its OS errors explained (see `explain`). */
export function explained<T>(path: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw explain(path, error, doing);
  }
}
