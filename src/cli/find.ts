/**
 * Finds the locks in a directory tree by their files: `NAME` (data file)
 * next to `NAME.lock` (lock file). Opens nothing; only lists directories.
 *
 * @module
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CliError, isPermissionError } from "./errors.ts";

/** The files of one lock, as found on disk. */
export interface LockFiles {
  /** The lock's name relative to the directory (what `new MemoryShareLock` was given). */
  readonly name: string;
  /** The data file `NAME`. */
  readonly path: string;
  /** The lock file `NAME.lock`. */
  readonly lockPath: string;
  /** Whether the data file exists (a plain flock(1)/filelock lock has none). */
  readonly hasData: boolean;
  /** Whether the lock file exists (cleaners may delete it; memshare recreates it). */
  readonly hasLock: boolean;
  /** What sits at the data path when it is not a regular file (`"symlink"`, `"FIFO"`, …); acquire refuses it. */
  readonly dataKind?: string;
}

/** How deep names with `/` are followed into subdirectories. */
const MAX_DEPTH = 4;
const SUFFIX = ".lock";

/**
 * Lists lock candidates under `dir`, sorted by name: pairs, lone lock files,
 * and lone other files (which may be data files whose lock file was
 * deleted; the caller keeps only those with a memshare header). Symlinks
 * are never followed, as memshare never follows them.
 */
export function findLocks(dir: string): LockFiles[] {
  const found: LockFiles[] = [];
  walk(dir, "", 0, found);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function walk(
  dir: string,
  prefix: string,
  depth: number,
  found: LockFiles[],
): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (isPermissionError(error)) throw error;
    // An unreadable subdirectory is skipped; the top one is the user's question.
    if (depth > 0) return;
    throw new CliError(`cannot list ${dir}: ${(error as Error).message}`);
  }
  const files = new Set<string>();
  const others = new Map<string, string>();
  for (const entry of entries) {
    if (entry.isFile()) files.add(entry.name);
    else {
      others.set(entry.name, kindOf(entry));
      if (entry.isDirectory() && depth < MAX_DEPTH) {
        walk(
          join(dir, entry.name),
          `${prefix}${entry.name}/`,
          depth + 1,
          found,
        );
      }
    }
  }
  const used = new Set<string>();
  const add = (base: string, hasData: boolean, hasLock: boolean) => {
    const dataKind = hasData ? undefined : others.get(base);
    found.push({
      name: prefix + base,
      path: join(dir, base),
      lockPath: join(dir, base + SUFFIX),
      hasData,
      hasLock,
      ...(dataKind === undefined ? {} : { dataKind }),
    });
  };
  const sorted = [...files].sort();
  for (const file of sorted) {
    const base = file.slice(0, -SUFFIX.length);
    if (!file.endsWith(SUFFIX) || !files.has(base) || used.has(base)) continue;
    used.add(base).add(file);
    add(base, true, true);
  }
  for (const file of sorted) {
    if (used.has(file)) continue;
    if (!file.endsWith(SUFFIX)) add(file, true, false);
    else if (file.length > SUFFIX.length) {
      add(file.slice(0, -SUFFIX.length), false, true);
    }
  }
}

/** A directory entry's kind in words. */
function kindOf(entry: {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}): string {
  if (entry.isSymbolicLink()) return "symlink";
  if (entry.isDirectory()) return "directory";
  if (entry.isFIFO()) return "FIFO";
  if (entry.isSocket()) return "socket";
  return "device";
}
