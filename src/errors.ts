/**
 * The errors memshare throws besides `TypeError`/`RangeError` for bad
 * options. Each carries the context a user needs to act: the path, the
 * timeout, the holder.
 *
 * @module
 */

/** An acquire gave up after its timeout. */
export class LockTimeoutError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "LockTimeoutError";
  /** The data file path of the lock. */
  readonly path: string;
  /** The timeout that ran out, in ms (0 for a single try). */
  readonly timeout: number;
  /** The holder's pid, when known. */
  readonly holderPid: number | null;
  /** Since when the holder has held it, when known. */
  readonly holderSince: Date | null;

  /** Builds the error; the message names the holder when one is known. */
  constructor(
    path: string,
    timeout: number,
    holderPid: number | null = null,
    holderSince: Date | null = null,
    tagName?: string,
  ) {
    const holder = holderPid === null
      ? ""
      : ` (held by pid ${holderPid}${tagName ? ` "${tagName}"` : ""}${
        holderSince === null
          ? ""
          : ` since ${holderSince.toISOString()}, ${
            ((Date.now() - holderSince.getTime()) / 1000).toFixed(1)
          } s ago`
      })`;
    super(
      timeout === 0
        ? `lock ${path} is busy${holder}`
        : `timed out after ${timeout} ms waiting for lock ${path}${holder}`,
    );
    this.path = path;
    this.timeout = timeout;
    this.holderPid = holderPid;
    this.holderSince = holderSince;
  }
}

/** The lock was closed while waiting for it, or used after `close()`. */
export class LockClosedError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "LockClosedError";
  /** The data file path of the lock. */
  readonly path: string;

  /** Builds the error for `path`. */
  constructor(path: string) {
    super(`lock ${path} is closed`);
    this.path = path;
  }
}

/** A synchronous acquire in a realm that already holds the lock (it would wait for itself forever). */
export class LockHeldError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "LockHeldError";
  /** The data file path of the lock. */
  readonly path: string;

  /** Builds the error for `path`. */
  constructor(path: string, what: string) {
    super(
      `${what} would deadlock: this realm already holds lock ${path}; release it first`,
    );
    this.path = path;
  }
}

/** A lock or data file (or its directory) that cannot be used, with the reason. */
export class LockFileError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "LockFileError";
  /** The path that was refused or failed. */
  readonly path: string;
  /** A symbolic code: an errno name (`ELOOP`, `EACCES`, …) or one of memshare's (`ENOTREG`, `EHARDLINK`, `EFOREIGN`, `EHEADER`, `EALIAS`). */
  readonly code: string;

  /** Builds the error; `cause` is the underlying `OsError` when there is one. */
  constructor(path: string, code: string, reason: string, cause?: unknown) {
    super(`${path}: ${reason}`, cause === undefined ? undefined : { cause });
    this.path = path;
    this.code = code;
  }
}

/** How a bad option value is named in messages: `a function`, `number NaN`, `"text"`. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing (undefined)";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "object") {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return `${typeof value} ${String(value)}`;
}
