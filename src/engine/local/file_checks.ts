/**
 * The checks a lock or data file passes before memshare uses it: a regular
 * file (not a FIFO, device or directory), and for the data file, which is
 * mapped, also one this user owns and with no second name.
 *
 * @module
 */

import type { FileStatus, Handle, Platform } from "../../ffi/platform.ts";
import { LockFileError } from "../../errors.ts";
import { explained } from "./lock_file_errors.ts";

/** The status of `path` without following a link; `null` when it is missing. */
export function statPath(platform: Platform, path: string): FileStatus | null {
  return explained(
    path,
    "reading its status",
    () => platform.statPath(path),
  );
}

/** The status of the open file `handle`, refused unless a regular file. */
export function checkRegular(
  platform: Platform,
  path: string,
  handle: Handle,
): FileStatus {
  const status = explained(
    path,
    "reading its status",
    () => platform.statHandle(handle),
  );
  if (status.kind !== "file") {
    throw new LockFileError(
      path,
      "ENOTREG",
      `is a ${
        status.kind === "other" ? "FIFO, socket or device" : status.kind
      }, not a regular file`,
    );
  }
  return status;
}

/**
 * The status of a data file we may read and map: regular, ours (another
 * user could truncate it under our mapping), and not also a file elsewhere.
 */
export function checkData(
  platform: Platform,
  path: string,
  handle: Handle,
): FileStatus {
  const status = checkRegular(platform, path, handle);
  const uid = platform.uid();
  if (uid >= 0 && status.uid !== uid) {
    throw new LockFileError(
      path,
      "EFOREIGN",
      `belongs to uid ${status.uid}, not to this user (uid ${uid}); refusing shared memory another user controls`,
    );
  }
  if (status.links > 1) {
    throw new LockFileError(
      path,
      "EHARDLINK",
      `has ${status.links} hard links; memshare refuses a data file that may be another file elsewhere`,
    );
  }
  return status;
}
