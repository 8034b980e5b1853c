/**
 * Validation of the constructor's options and of acquire options. Everything here throws at construction, before any file is
 * touched, with the option's name in the message.
 *
 * @module
 */

import { describeValue as describe } from "../errors.ts";

/** Largest shared region: 1 GiB. */
export const MAX_LENGTH = 2 ** 30;

/** A hook: runs with the shared memory right after acquire or right before release. */
export type Hook<L = unknown> = (
  memory: Uint8Array,
  lock: L,
) => void | Promise<void>;

/** The options every acquire accepts. */
export interface AcquireOptions {
  /** Milliseconds to wait: -1 or `Infinity` waits forever, 0 tries once. Default: the lock's `timeout`. */
  timeout?: number;
  /** Aborting it rejects the wait with `signal.reason`. */
  signal?: AbortSignal;
}

const OPTION_NAMES = new Set([
  "length",
  "tagName",
  "dir",
  "timeout",
  "mode",
  "onAcquire",
  "onRelease",
  "atomic",
]);
const PYTHON_NAMES: Record<string, string> = {
  tag_name: "tagName",
  filename: "the first argument (name)",
  prefix: "dir",
  suffix: "a longer name (put the suffix in the name itself)",
  add_prefix_dependence: "dir",
};

/** Throws if `options` is not an object or has a key we do not know. */
export function checkOptionKeys(options: unknown): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "MemoryShareLock options must be an object, e.g. { length: 10 }",
    );
  }
  checkKeys(
    options,
    [...OPTION_NAMES],
    "MemoryShareLock",
    (name) => `did you mean ${name}?`,
    PYTHON_NAMES,
  );
}

/** What filelock's acquire arguments are called here. */
const PYTHON_ACQUIRE_NAMES: Record<string, string> = {
  blocking: '"timeout: 0" for one try',
  poll_interval: "nothing: memshare is woken by the release, it does not poll",
  signal:
    "acquire({ signal }): acquireSync blocks the thread, so nothing could abort it",
};

/**
 * Rejects keys of an acquire's options other than `known`: a misspelt
 * `timout` would otherwise wait for ever.
 */
export function checkAcquireKeys(
  options: object,
  known: readonly string[],
  method: string,
): void {
  checkKeys(
    options,
    known,
    method,
    (name) => `use ${name}`,
    PYTHON_ACQUIRE_NAMES,
  );
}

/** Throws a TypeError naming the first key of `options` not in `known`, with the hint for a Python name. */
function checkKeys(
  options: object,
  known: readonly string[],
  where: string,
  phrase: (name: string) => string,
  pythonNames: Record<string, string>,
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // Own names only: `constructor`, `toString`… are no Python names.
    const hint = Object.hasOwn(pythonNames, key)
      ? ` (${phrase(pythonNames[key])})`
      : "";
    throw new TypeError(
      `${where}: unknown option "${key}"${hint}; known options: ${
        known.join(", ")
      }`,
    );
  }
}

/** `length`: an integer from 1 to 2**30. */
export function checkLength(length: unknown): number {
  if (typeof length !== "number") {
    throw new TypeError(
      `MemoryShareLock option "length" must be a number of bytes (1 .. 2**30), got ${
        describe(length)
      }`,
    );
  }
  if (!Number.isInteger(length) || length < 1 || length > MAX_LENGTH) {
    throw new RangeError(
      `MemoryShareLock option "length" must be an integer from 1 to ${MAX_LENGTH}, got ${length}`,
    );
  }
  return length;
}

/** `timeout` (option or acquire argument): ms ≥ 0, or -1 / Infinity for forever. Returns ms or `Infinity`. */
export function checkTimeout(timeout: unknown, where = "timeout"): number {
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `${where} must be a number of milliseconds (-1 or Infinity = wait forever, 0 = one try), got ${
        describe(timeout)
      }`,
    );
  }
  if (timeout === -1 || timeout === Infinity) return Infinity;
  if (timeout < 0) {
    throw new RangeError(
      `${where} must be >= 0, or -1 / Infinity to wait forever, got ${timeout}`,
    );
  }
  return timeout;
}

/** `mode`: permission bits that include owner read and write. */
export function checkMode(mode: unknown): number {
  if (typeof mode !== "number" || !Number.isInteger(mode)) {
    throw new TypeError(
      `MemoryShareLock option "mode" must be an integer like 0o600, got ${
        describe(mode)
      }`,
    );
  }
  if (mode < 0 || mode > 0o777 || (mode & 0o600) !== 0o600) {
    throw new RangeError(
      `MemoryShareLock option "mode" must be permission bits from 0o600 to 0o777 that include owner read and write (0o600), got 0o${
        mode.toString(8)
      }`,
    );
  }
  return mode;
}

/** `atomic`: a boolean or undefined (`false`). */
export function checkAtomic(atomic: unknown): boolean {
  if (atomic === undefined) return false;
  if (typeof atomic !== "boolean") {
    throw new TypeError(
      `MemoryShareLock option "atomic" must be true or false, got ${
        describe(atomic)
      }`,
    );
  }
  return atomic;
}

/** `tagName`: any string. */
export function checkTagName(tagName: unknown): string {
  if (typeof tagName !== "string") {
    throw new TypeError(
      `MemoryShareLock option "tagName" must be a string, got ${
        describe(tagName)
      }`,
    );
  }
  return tagName;
}

/** A hook option: a function or undefined. */
export function checkHook(
  hook: unknown,
  where: string,
): Hook | undefined {
  if (hook === undefined) return undefined;
  if (typeof hook !== "function") {
    throw new TypeError(
      `${where} must be a function (memory, lock) => void, got ${
        describe(hook)
      }`,
    );
  }
  return hook as Hook;
}

/** An acquire's `signal`: an AbortSignal or undefined. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (
    signal === null || typeof signal !== "object" ||
    typeof (signal as AbortSignal).addEventListener !== "function" ||
    typeof (signal as AbortSignal).aborted !== "boolean"
  ) {
    throw new TypeError(
      `acquire option "signal" must be an AbortSignal, got ${describe(signal)}`,
    );
  }
  return signal as AbortSignal;
}

const ASYNC_OPTION_NAMES = ["timeout", "signal"] as const;
const SYNC_OPTION_NAMES = ["timeout"] as const;

/**
 * The timeout an acquire method waits: its options' (checked, with every
 * key known to `method`), else the lock's `fallback`.
 *
 * @example
 * ```ts ignore
 * acquireTimeout({ timeout: 500 }, Infinity, "acquire"); // 500
 * ```
 */
export function acquireTimeout(
  options: { timeout?: number } | undefined,
  fallback: number,
  method: string,
): number {
  if (options === undefined) return fallback;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${method} options must be an object, e.g. { timeout: 1000 }`,
    );
  }
  checkAcquireKeys(
    options,
    method.endsWith("Sync") ? SYNC_OPTION_NAMES : ASYNC_OPTION_NAMES,
    method,
  );
  return options.timeout === undefined
    ? fallback
    : checkTimeout(options.timeout, `${method} option "timeout"`);
}
