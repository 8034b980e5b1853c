/**
 * Validation of `RedisShareLock`'s name and options: every check throws at
 * construction, before any connection, with the option's name in the
 * message (and never a password).
 *
 * @module
 */

import { describeValue as describe } from "../errors.ts";
import { parseRedisUrl, type RedisUrl } from "../engine/redis/url.ts";
import {
  checkHook,
  checkTagName,
  checkTimeout,
  type Hook,
} from "../front/options.ts";

/** Largest shared region kept in Redis: 1 MiB. */
export const MAX_REDIS_LENGTH = 2 ** 20;
/** Shortest lease: 1 s. */
export const MIN_LEASE = 1_000;
/** Default lease: 10 s. */
export const DEFAULT_LEASE = 10_000;

const OPTION_NAMES = [
  "length",
  "redis",
  "lease",
  "tagName",
  "timeout",
  "onAcquire",
  "onRelease",
  "replicas",
  "tls",
] as const;

/**
 * The `tls` option: PEM text of the CA certificate(s) that signed the
 * server's, for a `rediss://` server whose certificate is not from a root
 * the runtime trusts. Only with `rediss://`; a bad value names the option.
 */
function checkTls(value: unknown, tls: boolean): string | undefined {
  if (value === undefined) return undefined;
  const example = 'e.g. { ca: Deno.readTextFileSync("ca.pem") }';
  if (value === null || typeof value !== "object") {
    throw new TypeError(
      `RedisShareLock option "tls" must be an object, ${example}, got ${
        describe(value)
      }`,
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== "ca") {
      throw new TypeError(
        `RedisShareLock option "tls": unknown key "${key}"; known: ca`,
      );
    }
  }
  const ca = (value as { ca?: unknown }).ca;
  if (typeof ca !== "string" || !ca.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TypeError(
      `RedisShareLock option "tls.ca" must be PEM text ("-----BEGIN CERTIFICATE-----…"), ${example}, got ${
        typeof ca === "string"
          ? "a string without a PEM certificate"
          : describe(ca)
      }`,
    );
  }
  if (!tls) {
    throw new TypeError(
      'RedisShareLock option "tls" needs a rediss:// URL in option "redis" (redis:// is not encrypted)',
    );
  }
  return ca;
}

/** The options, checked and with defaults. */
export interface CheckedRedisOptions {
  /** Bytes of shared data. */
  readonly length: number;
  /** The server. */
  readonly url: RedisUrl;
  /** Lease in ms. */
  readonly lease: number;
  /** Holder description. */
  readonly tagName: string;
  /** Default acquire timeout (`Infinity` = forever). */
  readonly timeout: number;
  /** Acquire hook. */
  readonly onAcquire: Hook | undefined;
  /** Release hook. */
  readonly onRelease: Hook | undefined;
  /** Replicas to `WAIT` for (0: none). */
  readonly replicas: number;
}

/** The lock's name: a non-empty string without `{`, `}` or NUL (it goes into a `{name}` hash tag). */
export function checkRedisName(name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `RedisShareLock name must be a non-empty string, got ${describe(name)}`,
    );
  }
  if (/[{}\0]/.test(name)) {
    throw new TypeError(
      `RedisShareLock name ${
        JSON.stringify(name)
      } must not contain "{", "}" or NUL (it is the Redis hash tag of the lock's keys)`,
    );
  }
  if (name.length > 1_000) {
    throw new RangeError(
      `RedisShareLock name is ${name.length} characters long; at most 1000`,
    );
  }
  return name;
}

function integerIn(
  value: unknown,
  option: string,
  min: number,
  max: number,
  what: string,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `RedisShareLock option "${option}" must be ${what}, got ${
        describe(value)
      }`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `RedisShareLock option "${option}" must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/** Checks every option of `new RedisShareLock(name, options)`. */
export function checkRedisOptions(
  name: string,
  options: unknown,
): CheckedRedisOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      'RedisShareLock options must be an object, e.g. { length: 64, redis: "redis://127.0.0.1:6379" }',
    );
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(
        `RedisShareLock: unknown option "${key}"; known options: ${
          OPTION_NAMES.join(", ")
        }`,
      );
    }
  }
  const o = options as Record<string, unknown>;
  const url = parseRedisUrl(o.redis, "redis");
  const ca = checkTls(o.tls, url.tls);
  return {
    length: integerIn(
      o.length,
      "length",
      1,
      MAX_REDIS_LENGTH,
      "a number of bytes (1 .. 2**20)",
    ),
    url: ca === undefined ? url : { ...url, ca },
    lease: o.lease === undefined ? DEFAULT_LEASE : integerIn(
      o.lease,
      "lease",
      MIN_LEASE,
      2 ** 31 - 1,
      "a number of milliseconds (at least 1000)",
    ),
    tagName: o.tagName === undefined ? name : checkTagName(o.tagName),
    timeout: o.timeout === undefined
      ? Infinity
      : checkTimeout(o.timeout, `RedisShareLock option "timeout"`),
    onAcquire: checkHook(o.onAcquire, `RedisShareLock option "onAcquire"`),
    onRelease: checkHook(o.onRelease, `RedisShareLock option "onRelease"`),
    replicas: o.replicas === undefined
      ? 0
      : integerIn(o.replicas, "replicas", 0, 1_000, "a number of replicas"),
  };
}
