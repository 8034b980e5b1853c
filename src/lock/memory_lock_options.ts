/**
 * The options of `new MemoryShareLock(name, options)`: their types, their
 * checks (paths resolved, defaults filled in), and the comparison with an
 * existing instance for the same file.
 *
 * @module
 */

import type { Platform } from "../ffi/platform.ts";
import { type ResolvedPaths, resolvePaths } from "../engine/local/paths.ts";
import {
  checkAtomic,
  checkHook,
  checkLength,
  checkMode,
  checkTagName,
  checkTimeout,
} from "../front/options.ts";
import type { MemoryShareLock } from "./memory_share_lock.ts";

/** A hook: runs with the shared memory right after acquire or right before release. */
export type Hook = (
  memory: Uint8Array,
  lock: MemoryShareLock,
) => void | Promise<void>;

/** Options of `new MemoryShareLock(name, options)`. */
export interface MemoryShareLockOptions {
  /** Bytes of shared memory: an integer from 1 to 2**30. */
  length: number;
  /** A description kept in the header and shown by `info()`. Default: the name. */
  tagName?: string;
  /** Where relative names live. Default: `$XDG_RUNTIME_DIR/memshare`, else `/tmp/memshare-<uid>` (macOS `$TMPDIR/memshare`, Windows `%TEMP%\memshare`). */
  dir?: string;
  /** Default acquire timeout in ms: -1 or `Infinity` waits forever (the default), 0 tries once. */
  timeout?: number;
  /** Permission bits of files memshare creates. Default `0o600`. */
  mode?: number;
  /** Runs right after the lock is taken. */
  onAcquire?: Hook;
  /** Runs right before the lock is released. */
  onRelease?: Hook;
  /**
   * Atomic commit: the region is kept twice in the data file; `guard.memory`
   * is a working copy, published whole at release with one atomic store, so
   * a holder killed at any moment leaves the last published bytes whole.
   * Fixed at the file's creation, like its length: every process must agree.
   * Default `false`.
   */
  atomic?: boolean;
}

/** The options' values, checked and with defaults (everything but the paths). */
export interface CheckedLockValues {
  /** Bytes of shared memory. */
  readonly length: number;
  /** Holder description. */
  readonly tagName: string;
  /** Default acquire timeout (`Infinity` = forever). */
  readonly timeout: number;
  /** Permission bits of created files. */
  readonly mode: number;
  /** Atomic commit. */
  readonly atomic: boolean;
  /** Acquire hook. */
  readonly onAcquire: Hook | undefined;
  /** Release hook. */
  readonly onRelease: Hook | undefined;
}

/** The options, checked and with defaults, and the paths they name. */
export interface CheckedLockOptions extends CheckedLockValues {
  /** The data file and its lock file. */
  readonly paths: ResolvedPaths;
}

/**
 * Checks the values of the options of `new MemoryShareLock(name, options)`
 * (after `checkOptionKeys`) and resolves the paths; opens no file. Throws
 * the `TypeError` or `RangeError` naming the first bad one.
 *
 * @example
 * ```ts ignore
 * const { paths, length } = checkLockOptions("mouse_move", { length: 10 }, platform);
 * ```
 */
export function checkLockOptions(
  name: string,
  options: MemoryShareLockOptions,
  platform: Platform,
): CheckedLockOptions {
  const paths = resolvePaths(
    name,
    options.dir,
    platform.path,
    () => platform.cwd(),
    () => platform.defaultDirectory(),
  );
  const length = checkLength(options.length);
  const tagName = options.tagName === undefined
    ? name
    : checkTagName(options.tagName);
  const timeout = options.timeout === undefined
    ? Infinity
    : checkTimeout(options.timeout, `MemoryShareLock option "timeout"`);
  const mode = options.mode === undefined ? 0o600 : checkMode(options.mode);
  const atomic = checkAtomic(options.atomic);
  const onAcquire = checkHook(
    options.onAcquire,
    `MemoryShareLock option "onAcquire"`,
  ) as Hook | undefined;
  const onRelease = checkHook(
    options.onRelease,
    `MemoryShareLock option "onRelease"`,
  ) as Hook | undefined;
  return {
    paths,
    length,
    tagName,
    timeout,
    mode,
    atomic,
    onAcquire,
    onRelease,
  };
}

/**
 * Throws a TypeError naming every option given to a second construction
 * (`given`, checked as `resolved`) that differs from the `existing`
 * instance's (at `path`); options left out are not compared, except
 * `length` (required) and `atomic`.
 *
 * @example
 * ```ts ignore
 * checkLockAgrees(existing.path, existingValues, options, checkLockOptions(name, options, platform));
 * ```
 */
export function checkLockAgrees(
  path: string,
  existing: CheckedLockValues,
  given: MemoryShareLockOptions,
  resolved: CheckedLockValues,
): void {
  const conflicts: string[] = [];
  const compare = (option: string, mine: unknown, theirs: unknown) => {
    if (mine !== theirs) {
      conflicts.push(
        `${option} (${show(theirs)} here, ${
          show(mine)
        } in the existing instance)`,
      );
    }
  };
  compare("length", existing.length, resolved.length);
  if (given.tagName !== undefined) {
    compare("tagName", existing.tagName, resolved.tagName);
  }
  if (given.timeout !== undefined) {
    compare("timeout", existing.timeout, resolved.timeout);
  }
  if (given.mode !== undefined) compare("mode", existing.mode, resolved.mode);
  compare("atomic", existing.atomic, resolved.atomic);
  if (given.onAcquire !== undefined) {
    compare("onAcquire", existing.onAcquire, given.onAcquire);
  }
  if (given.onRelease !== undefined) {
    compare("onRelease", existing.onRelease, given.onRelease);
  }
  if (conflicts.length > 0) {
    throw new TypeError(
      `MemoryShareLock for ${path} already exists in this realm with other options: ${
        conflicts.join("; ")
      }. Use the same options, or close() the existing one first`,
    );
  }
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
