/**
 * Checks the directory the CLI is asked to look at, before reading
 * anything in it, and turns each problem into a one-line `CliError`.
 *
 * @module
 */

import { statSync } from "node:fs";
import { CliError, isPermissionError } from "./errors.ts";

/**
 * Throws a `CliError` naming `dir` if it is missing, not a directory, or
 * owned by a user other than `uid` (-1: no owners, e.g. Windows). A missing
 * directory is not an error when `missingOk` (the default directory before
 * any lock was made): returns false then.
 */
export function checkDirectory(
  dir: string,
  uid: number,
  missingOk: boolean,
): boolean {
  let status;
  try {
    status = statSync(dir);
  } catch (error) {
    if (isPermissionError(error)) throw error;
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" && missingOk) return false;
    throw new CliError(
      code === "ENOENT"
        ? `no such directory: ${dir}`
        : code === "ENOTDIR"
        ? `not a directory: ${dir} (a parent of it is a file)`
        : code === "EACCES"
        ? `cannot look into ${dir}: permission denied`
        : `cannot read ${dir}: ${(error as Error).message}`,
    );
  }
  if (!status.isDirectory()) {
    throw new CliError(`not a directory: ${dir}`);
  }
  if (uid >= 0 && status.uid !== uid) {
    // Another user's lock files are theirs to inspect: their headers could
    // say anything, and memshare itself refuses such a directory.
    throw new CliError(
      `${dir} belongs to uid ${status.uid}, not to you (uid ${uid}); refusing to read another user's locks`,
    );
  }
  return true;
}
