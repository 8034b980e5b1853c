/**
 * `RedisShareLock`: the same lock across machines, kept on a Redis server;
 * one instance per (server, name) in a realm.
 *
 * @module
 */

import { RedisEngine } from "../engine/redis/redis_engine.ts";
import type { RedisClaim, RedisLockInfo } from "../engine/redis/types.ts";
import {
  type GuardOwner,
  type GuardState,
  guardState,
  ShareGuardBase,
  STATE,
} from "../front/guard.ts";
import { LockFront } from "../front/lock_front.ts";
import { type AcquireOptions, checkHook } from "../front/options.ts";
import { Registry } from "../front/registry.ts";
import type { ShareLock } from "../front/share_lock.ts";
import { addHook, wrapWith } from "../front/wrap.ts";
import {
  type CheckedRedisOptions,
  checkRedisName,
  checkRedisOptions,
} from "./redis_options.ts";

/** A hook: runs with the shared bytes right after acquire or right before release. */
export type RedisHook = (
  memory: Uint8Array,
  lock: RedisShareLock,
) => void | Promise<void>;

/** Options of `new RedisShareLock(name, options)`. */
export interface RedisShareLockOptions {
  /** Bytes of shared data kept in Redis: an integer from 1 to 2**20. */
  length: number;
  /** The server: `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  redis: string;
  /** Milliseconds a holder keeps the lock without renewing (renewed while its process lives). Default 10 000, at least 1 000. */
  lease?: number;
  /** Shown as the holder's tag by `info()` and timeout errors. Default: the name. */
  tagName?: string;
  /** Default acquire timeout in ms: -1 or `Infinity` waits forever (the default), 0 tries once. */
  timeout?: number;
  /** Runs right after the lock is taken. */
  onAcquire?: RedisHook;
  /** Runs right before the lock is released. */
  onRelease?: RedisHook;
  /** After a grant and a write-back, `WAIT` for this many replicas; fails closed when they do not confirm. Default 0. */
  replicas?: number;
  /**
   * For a `rediss://` server whose certificate a private CA signed: that
   * CA's PEM text, trusted for this server instead of the runtime's roots.
   */
  tls?: { ca: string };
}

/**
 * A held `RedisShareLock`. Release it with `release()` or `await using`.
 *
 * @example
 * ```ts ignore
 * await using guard = await account.acquire();
 * await api.call({ fence: guard.token, signal: guard.signal });
 * ```
 */
export class RedisShareGuard extends ShareGuardBase {
  readonly #state: GuardState;
  readonly #claim: RedisClaim;

  /** Made by the lock; not meant to be constructed directly. */
  constructor(claim: RedisClaim, owner: GuardOwner) {
    super();
    this.#state = guardState(claim.recovered, claim.token, owner);
    this.#claim = claim;
  }

  /** Aborted (with a `LockLostError`) when this holder loses its lease. */
  get signal(): AbortSignal {
    return this.#claim.signal;
  }

  /**
   * This guard's state: the lock's, not the user's.
   *
   * @internal
   */
  get [STATE](): GuardState {
    return this.#state;
  }
}

const registry = new Registry<RedisShareLock>(false);

/** The registry key: the server (without credentials) and the name. */
function serverKey(options: CheckedRedisOptions, name: string): string {
  const url = new URL(options.url.url);
  return `${url.protocol}//${url.host}${url.pathname}\n${name}`;
}

/**
 * A named lock shared by processes on many machines through a Redis
 * server, with up to 1 MiB of bytes handed from holder to holder.
 * Waiters queue first come, first served across every client; a release
 * hands the lock straight to the next waiter; a holder's lease is renewed
 * while its process lives, and a holder that lost it can never write its
 * bytes over the next holder's.
 *
 * @example
 * ```ts ignore
 * import { RedisShareLock } from "@memshare/lock/redis";
 *
 * const account = new RedisShareLock("crm_account", { length: 64, redis: "redis://127.0.0.1:6379" });
 * {
 *   await using guard = await account.acquire({ timeout: 5_000 });
 *   guard.memory[0]++;
 * }
 * await account.close();
 * ```
 */
export class RedisShareLock
  implements ShareLock<RedisShareGuard>, AsyncDisposable {
  /** The lock's name. */
  readonly name!: string;
  /** The server's URL, password written as `***`. */
  readonly redis!: string;
  /** Bytes of shared data. */
  readonly length!: number;
  /** The lease in ms. */
  readonly lease!: number;
  /** The holder description. */
  readonly tagName!: string;
  /** Default acquire timeout in ms (`Infinity` = forever). */
  readonly timeout!: number;
  /** Replicas a grant and a write-back wait for. */
  readonly replicas!: number;

  readonly #engine!: RedisEngine;
  readonly #front!: LockFront<RedisClaim, RedisShareGuard, RedisShareLock>;
  readonly #options!: CheckedRedisOptions;

  /**
   * Describes the lock and validates every option; connects on first use.
   * Returns the existing instance for the same server and name in this
   * realm, after checking that the options agree with it.
   */
  constructor(name: string, options: RedisShareLockOptions) {
    checkRedisName(name);
    const checked = checkRedisOptions(name, options);
    const key = serverKey(checked, name);
    const existing = registry.get(key);
    if (existing !== undefined) {
      existing.#checkAgrees(options, checked);
      return existing;
    }
    this.name = name;
    this.redis = checked.url.masked;
    this.length = checked.length;
    this.lease = checked.lease;
    this.tagName = checked.tagName;
    this.timeout = checked.timeout;
    this.replicas = checked.replicas;
    this.#options = checked;
    this.#engine = new RedisEngine({
      name,
      url: checked.url,
      length: checked.length,
      lease: checked.lease,
      tagName: checked.tagName,
      replicas: checked.replicas,
    });
    this.#front = new LockFront(this.#engine, {
      lock: this as RedisShareLock,
      timeout: checked.timeout,
      makeGuard: (claim, owner) => new RedisShareGuard(claim, owner),
      onClosed: () => registry.delete(key, this),
    });
    if (checked.onAcquire) this.#front.acquireHooks.push(checked.onAcquire);
    if (checked.onRelease) this.#front.releaseHooks.push(checked.onRelease);
    registry.set(key, this);
  }

  /**
   * Waits for the lock (queued on the server, first come first served) and
   * returns its guard. Rejects with `LockTimeoutError` after `timeout` ms,
   * with `signal.reason` when aborted, or with `RedisConnectionError` when
   * the server cannot be reached; never leaves the lock held.
   *
   * @example
   * ```ts ignore
   * await using guard = await lock.acquire({ timeout: 5_000 });
   * ```
   */
  acquire(options?: AcquireOptions): Promise<RedisShareGuard> {
    return this.#front.acquire(options);
  }

  /**
   * Runs `fn(memory, guard)` holding the lock; releases when it settles.
   *
   * @example
   * ```ts ignore
   * const n = await lock.run((memory) => ++memory[0]);
   * ```
   */
  async run<T>(
    fn: (memory: Uint8Array, guard: RedisShareGuard) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T> {
    await using guard = await this.#front.acquire(options);
    return await fn(guard.memory, guard);
  }

  /**
   * Returns a version of `fn` that runs holding the lock.
   *
   * @example
   * ```ts ignore
   * const call = lock.wrap((x: number) => api.call(x));
   * ```
   */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    options?: AcquireOptions,
  ): (...args: A) => Promise<T> {
    return wrapWith(this, fn, options);
  }

  /**
   * Adds a hook run after the constructor's `onAcquire`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = lock.addAcquireHook((memory) => console.log(memory[0]));
   * ```
   */
  addAcquireHook(hook: RedisHook): () => void {
    return addHook(
      this.#front.acquireHooks,
      checkHook(hook, "addAcquireHook(hook): hook") as RedisHook,
    );
  }

  /**
   * Adds a hook run after the constructor's `onRelease`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = lock.addReleaseHook((memory) => memory[0]++);
   * ```
   */
  addReleaseHook(hook: RedisHook): () => void {
    return addHook(
      this.#front.releaseHooks,
      checkHook(hook, "addReleaseHook(hook): hook") as RedisHook,
    );
  }

  /**
   * The lock's state on the server; takes no lock.
   *
   * @example
   * ```ts ignore
   * const { locked, holder, waiting, token } = await lock.info();
   * ```
   */
  info(): Promise<RedisLockInfo> {
    try {
      this.#front.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#engine.info();
  }

  /**
   * Rejects this realm's queued waiters with `LockClosedError`, waits for
   * this realm's holder to release, then closes the connections (the last
   * lock on a server closes them).
   *
   * @example
   * ```ts ignore
   * await lock.close();
   * ```
   */
  close(): Promise<void> {
    return this.#front.close();
  }

  /** `await using lock = new RedisShareLock(…)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkAgrees(
    given: RedisShareLockOptions,
    resolved: CheckedRedisOptions,
  ): void {
    const mine = this.#options;
    const conflicts: string[] = [];
    const compare = (option: string, a: unknown, b: unknown) => {
      if (a !== b) {
        conflicts.push(
          `${option} (${show(b)} here, ${show(a)} in the existing instance)`,
        );
      }
    };
    compare("length", mine.length, resolved.length);
    compare("redis", mine.url.masked, resolved.url.masked);
    if (mine.url.ca !== resolved.url.ca) {
      conflicts.push("tls.ca (differs from the existing instance's)");
    }
    if (given.lease !== undefined) compare("lease", mine.lease, resolved.lease);
    if (given.tagName !== undefined) {
      compare("tagName", mine.tagName, resolved.tagName);
    }
    if (given.timeout !== undefined) {
      compare("timeout", mine.timeout, resolved.timeout);
    }
    if (given.replicas !== undefined) {
      compare("replicas", mine.replicas, resolved.replicas);
    }
    if (given.onAcquire !== undefined) {
      compare("onAcquire", mine.onAcquire, resolved.onAcquire);
    }
    if (given.onRelease !== undefined) {
      compare("onRelease", mine.onRelease, resolved.onRelease);
    }
    if (conflicts.length > 0) {
      throw new TypeError(
        `RedisShareLock ${
          JSON.stringify(this.name)
        } on ${this.redis} already exists in this realm with other options: ${
          conflicts.join("; ")
        }. Use the same options, or close() the existing one first`,
      );
    }
  }
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
