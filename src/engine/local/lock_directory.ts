/**
 * The directory a lock's files live in, checked before a file is created
 * there: whoever may replace files in it could swap the lock file under us,
 * so it must be this user's (or root's) and not open to others' writes.
 *
 * @module
 */

import type { Platform } from "../../ffi/platform.ts";
import { LockFileError } from "../../errors.ts";
import { explained } from "./lock_file_errors.ts";
import { statPath } from "./file_checks.ts";
import type { ResolvedPaths } from "./paths.ts";

/**
 * Checks the directory of `paths`, and creates it 0700 when it is the
 * default one. Refused: a missing explicit directory (only the default one
 * is created), a directory another user owns, and one others may write to —
 * the default one at all, an explicit one without the sticky bit (anyone
 * could replace the lock file there).
 */
export function prepareLockDirectory(
  platform: Platform,
  paths: ResolvedPaths,
): void {
  const p = platform;
  const { defaultDir } = paths;
  const dir = defaultDir ? paths.dir : p.path.dirname(paths.lockPath);
  const what = defaultDir ? "the default lock directory" : "the lock directory";
  if (defaultDir) {
    explained(
      dir,
      "creating the default directory",
      () => p.makeDirectory(dir, 0o700),
    );
  }
  // "dir/." follows a symlinked explicit directory to the real one; the
  // plain path tells a file or a dangling link from a missing directory.
  const status = defaultDir
    ? statPath(p, dir)
    : statPath(p, dir + p.path.sep + ".") ?? statPath(p, dir);
  if (status === null) {
    throw new LockFileError(
      dir,
      "ENOENT",
      `${what} does not exist (memshare creates only its default directory; create it first)`,
    );
  }
  if (status.kind !== "directory") {
    throw new LockFileError(
      dir,
      "ENOTDIR",
      `${what} is a ${status.kind}, not a directory`,
    );
  }
  const uid = p.uid();
  if (uid < 0) return;
  if (status.uid !== uid && (defaultDir || status.uid !== 0)) {
    throw new LockFileError(
      dir,
      "EFOREIGN",
      `${what} belongs to uid ${status.uid}, not to this user (uid ${uid}) or root; refusing to use it, as its owner could replace the lock file${
        defaultDir ? ' (pass the "dir" option to use another)' : ""
      }`,
    );
  }
  const writable = defaultDir
    ? (status.mode & 0o022) !== 0
    : (status.mode & 0o002) !== 0 && (status.mode & 0o1000) === 0;
  if (writable) {
    throw new LockFileError(
      dir,
      "EPERM",
      defaultDir
        ? `the default lock directory is group- or world-writable (mode 0o${
          status.mode.toString(8)
        }); refusing to use it (chmod 700 it, or pass the "dir" option)`
        : `the lock directory is world-writable without the sticky bit (mode 0o${
          status.mode.toString(8)
        }): anyone could replace the lock file; refusing to use it (chmod o-w or +t it)`,
    );
  }
}
