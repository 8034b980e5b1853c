/**
 * Validation of `MemoryShareSemaphore`'s name and options: every check
 * throws at construction, before any file is touched, with the option's
 * name (and the class's) in the message; and the check that a second
 * construction in a realm agrees with the instance it gets back.
 *
 * @module
 */

import { describeValue as describe } from "../errors.ts";
import type { Platform } from "../ffi/platform.ts";
import { MAX_SLOTS } from "../engine/local/semaphore_engine.ts";
import { type ResolvedPaths, resolvePaths } from "../engine/local/paths.ts";
import {
  checkHook,
  checkLength,
  checkMode,
  checkTagName,
  checkTimeout,
} from "../front/options.ts";
import type { MemoryShareSemaphore } from "./memory_share_semaphore.ts";

/** A hook of a semaphore: runs with the slot's memory right after acquire or right before release. */
export type SemaphoreHook = (
  memory: Uint8Array,
  lock: MemoryShareSemaphore,
) => void | Promise<void>;

/** Options of `new MemoryShareSemaphore(name, options)`. */
export interface MemoryShareSemaphoreOptions {
  /** How many holders at once: an integer from 1 to 1024, fixed when the files are created. */
  slots: number;
  /** Bytes of shared memory per slot: an integer from 1 to 2**30. */
  length: number;
  /** A description kept in the headers. Default: the name. */
  tagName?: string;
  /** Where relative names live (as `MemoryShareLock`'s `dir`). */
  dir?: string;
  /** Default acquire timeout in ms: -1 or `Infinity` waits forever (the default), 0 tries once. */
  timeout?: number;
  /** Permission bits of files memshare creates. Default `0o600`. */
  mode?: number;
  /** Runs right after a slot is taken, with that slot's memory. */
  onAcquire?: SemaphoreHook;
  /** Runs right before a slot is released, with that slot's memory. */
  onRelease?: SemaphoreHook;
}

/** The options, checked and with defaults. */
export interface CheckedSemaphoreOptions {
  /** The meta file and its lock file. */
  readonly paths: ResolvedPaths;
  /** How many slots. */
  readonly slots: number;
  /** Bytes per slot. */
  readonly length: number;
  /** Holder description. */
  readonly tagName: string;
  /** Default acquire timeout (`Infinity` = forever). */
  readonly timeout: number;
  /** Permission bits of created files. */
  readonly mode: number;
  /** Acquire hook. */
  readonly onAcquire: SemaphoreHook | undefined;
  /** Release hook. */
  readonly onRelease: SemaphoreHook | undefined;
}

const OPTION_NAMES = [
  "slots",
  "length",
  "tagName",
  "dir",
  "timeout",
  "mode",
  "onAcquire",
  "onRelease",
];

/** Throws if `options` is not an object or has a key we do not know. */
export function checkSemaphoreKeys(options: unknown): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "MemoryShareSemaphore options must be an object, e.g. { slots: 3, length: 16 }",
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(
        `MemoryShareSemaphore: unknown option "${key}"; known options: ${
          OPTION_NAMES.join(", ")
        }`,
      );
    }
  }
}

/**
 * Checks the values of the options of `new MemoryShareSemaphore(name,
 * options)` (after `checkSemaphoreKeys`) and resolves the paths; opens no
 * file.
 *
 * @example
 * ```ts ignore
 * const { paths, slots } = checkSemaphoreOptions("seats", { slots: 3, length: 16 }, platform);
 * ```
 */
export function checkSemaphoreOptions(
  name: string,
  options: MemoryShareSemaphoreOptions,
  platform: Platform,
): CheckedSemaphoreOptions {
  const slots = checkSlots(options.slots);
  return renamed(() => ({
    paths: resolvePaths(
      name,
      options.dir,
      platform.path,
      () => platform.cwd(),
      () => platform.defaultDirectory(),
    ),
    slots,
    length: checkLength(options.length),
    tagName: options.tagName === undefined
      ? name
      : checkTagName(options.tagName),
    timeout: options.timeout === undefined
      ? Infinity
      : checkTimeout(options.timeout, `MemoryShareLock option "timeout"`),
    mode: options.mode === undefined ? 0o600 : checkMode(options.mode),
    onAcquire: checkHook(
      options.onAcquire,
      `MemoryShareLock option "onAcquire"`,
    ) as SemaphoreHook | undefined,
    onRelease: checkHook(
      options.onRelease,
      `MemoryShareLock option "onRelease"`,
    ) as SemaphoreHook | undefined,
  }));
}

/**
 * Throws a TypeError naming every option given to a second construction
 * (`given`, checked as `resolved`) that differs from the `existing`
 * instance's; options left out are not compared, except `slots` and
 * `length`, which are required.
 *
 * @example
 * ```ts ignore
 * checkAgrees(existing.path, existingChecked, options, checkSemaphoreOptions(name, options, platform));
 * ```
 */
export function checkAgrees(
  path: string,
  existing: Omit<CheckedSemaphoreOptions, "paths">,
  given: MemoryShareSemaphoreOptions,
  resolved: CheckedSemaphoreOptions,
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
  compare("slots", existing.slots, resolved.slots);
  compare("length", existing.length, resolved.length);
  if (given.tagName !== undefined) {
    compare("tagName", existing.tagName, resolved.tagName);
  }
  if (given.timeout !== undefined) {
    compare("timeout", existing.timeout, resolved.timeout);
  }
  if (given.mode !== undefined) compare("mode", existing.mode, resolved.mode);
  if (given.onAcquire !== undefined) {
    compare("onAcquire", existing.onAcquire, given.onAcquire);
  }
  if (given.onRelease !== undefined) {
    compare("onRelease", existing.onRelease, given.onRelease);
  }
  if (conflicts.length > 0) {
    throw new TypeError(
      `MemoryShareSemaphore for ${path} already exists in this realm with other options: ${
        conflicts.join("; ")
      }. Use the same options, or close() the existing one first`,
    );
  }
}

/** `slots`: an integer from 1 to 1024. */
function checkSlots(slots: unknown): number {
  if (typeof slots !== "number") {
    throw new TypeError(
      `MemoryShareSemaphore option "slots" must be a number of holders (1 .. ${MAX_SLOTS}), got ${
        describe(slots)
      }`,
    );
  }
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) {
    throw new RangeError(
      `MemoryShareSemaphore option "slots" must be an integer from 1 to ${MAX_SLOTS}, got ${slots}`,
    );
  }
  return slots;
}

/** Runs the lock's option checks, naming this class in their messages. */
function renamed<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof Error) {
      error.message = error.message.replaceAll(
        "MemoryShareLock",
        "MemoryShareSemaphore",
      );
    }
    throw error;
  }
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
