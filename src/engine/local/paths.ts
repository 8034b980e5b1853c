/**
 * Where a local lock's two files are: the data and lock paths resolved from
 * the name and the `dir` option, checked before any file is touched.
 *
 * @module
 */

import type { PathFunctions } from "../../ffi/platform.ts";
import { describeValue as describe } from "../../errors.ts";

/** The inputs that decide where the files are and how they are made. */
export interface ResolvedPaths {
  /** The data file. */
  readonly path: string;
  /** The lock file: `path + ".lock"`. */
  readonly lockPath: string;
  /** The directory given (or the default one); files may sit in a subdirectory of it. */
  readonly dir: string;
  /** Whether `dir` is the default directory, created and checked by memshare. */
  readonly defaultDir: boolean;
}

/**
 * Resolves the data and lock paths from `name` and `dir`. An absolute name
 * is used as given; a relative one must stay inside `dir` (no `..`).
 */
export function resolvePaths(
  name: unknown,
  dir: unknown,
  path: PathFunctions,
  cwd: () => string,
  defaultDirectory: () => string,
): ResolvedPaths {
  if (typeof name !== "string") {
    throw new TypeError(
      `MemoryShareLock name must be a string, got ${describe(name)}`,
    );
  }
  checkPathText(name, "name");
  if (dir !== undefined) {
    if (typeof dir !== "string") {
      throw new TypeError(
        `MemoryShareLock option "dir" must be a string, got ${describe(dir)}`,
      );
    }
    checkPathText(dir, `option "dir"`);
  }
  const base = dir === undefined
    ? defaultDirectory()
    : path.isAbsolute(dir)
    ? path.resolve(dir)
    : path.resolve(cwd(), dir);
  if (path.isAbsolute(name)) {
    const file = path.resolve(name);
    checkFileName(name, file, path);
    return {
      path: file,
      lockPath: file + ".lock",
      dir: path.dirname(file),
      defaultDir: false,
    };
  }
  const segments = name.split(/[\\/]/);
  if (segments.includes("..")) {
    throw new RangeError(
      `MemoryShareLock name "${name}" must stay inside dir: a relative name may not contain ".." (use an absolute path to point elsewhere)`,
    );
  }
  const file = path.join(base, name);
  checkFileName(name, file, path);
  return {
    path: file,
    lockPath: file + ".lock",
    dir: base,
    defaultDir: dir === undefined,
  };
}

function checkPathText(text: string, what: string): void {
  if (text.length === 0) {
    throw new RangeError(`MemoryShareLock ${what} must not be empty`);
  }
  if (text.includes("\0")) {
    throw new RangeError(
      `MemoryShareLock ${what} must not contain a NUL character: ${
        JSON.stringify(text)
      }`,
    );
  }
}

function checkFileName(name: string, file: string, path: PathFunctions): void {
  const last = name.split(/[\\/]/).at(-1);
  if (last === "" || last === "." || path.basename(file) === "") {
    throw new RangeError(
      `MemoryShareLock name "${name}" must name a file, not a directory`,
    );
  }
}
