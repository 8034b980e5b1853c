/**
 * The Redis engine: one lock name on one Redis server, for a fleet of
 * machines. See `scripts.ts` for the keys and the atomic steps, and
 * `waiter.ts` for the waiting side (the server's FIFO queue, heartbeats,
 * the grant arriving in this waiter's mailbox). Here is the holding side:
 * taking a grant over, the watchdog that renews the lease, and the fenced
 * write-back at release.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import type { Engine, WaitCallbacks } from "../engine.ts";
import { RedisHub, type Reply } from "./connection.ts";
import { LockLostError, RedisConnectionError } from "./errors.ts";
import { Holding } from "./holding.ts";
import { readLockInfo } from "./lock_info.ts";
import { type LockKeys, lockKeys, SCRIPTS } from "./scripts.ts";
import type { RedisLockTimeoutError } from "./timeout_error.ts";
import type { RedisClaim, RedisEngineOptions, RedisLockInfo } from "./types.ts";
import { type Grant, RedisWaiter } from "./waiter.ts";

/**
 * The engine for one lock name on one Redis server, in one realm.
 *
 * @example
 * ```ts ignore
 * const engine = new RedisEngine({ name: "crm", url: parseRedisUrl("redis://127.0.0.1:6379"), length: 64, lease: 10_000, tagName: "" });
 * engine.wait({ granted: (claim) => engine.release(claim), failed: console.error });
 * ```
 */
export class RedisEngine implements Engine<RedisClaim> {
  /** `name on redis://host:port` (password masked). */
  readonly target: string;
  readonly #hub: RedisHub;
  readonly #keys: LockKeys;
  readonly #length: number;
  readonly #lease: number;
  readonly #tag: string;
  readonly #replicas: number;
  readonly #heartbeat: number;
  /** How long a step may take before it is an error (the client may be reconnecting). */
  readonly #stepTimeout: number;
  readonly #waiter: RedisWaiter;
  #holding: Holding | null = null;
  #buffer: ArrayBuffer | null = null;
  #retired: ArrayBuffer | null = null;

  /** An engine for `options.name` on `options.url`; connects on first use. */
  constructor(options: RedisEngineOptions) {
    this.#keys = lockKeys(options.name);
    this.#length = options.length;
    this.#lease = options.lease;
    this.#tag = options.tagName;
    this.#replicas = options.replicas ?? 0;
    this.#heartbeat = options.heartbeat ?? 1_000;
    this.#stepTimeout = Math.max(5_000, this.#heartbeat * 3);
    this.target = `${options.name} on ${options.url.masked}`;
    this.#hub = RedisHub.use(options.url);
    this.#waiter = new RedisWaiter({
      hub: this.#hub,
      keys: this.#keys,
      target: this.target,
      lease: this.#lease,
      heartbeat: this.#heartbeat,
      stepTimeout: this.#stepTimeout,
      tag: this.#tag,
    }, (grant) => this.#granted(grant));
  }

  /**
   * See `Engine.wait`. With `once`, one attempt that never queues: the
   * lock when it is free and nobody queues for it, else `failed` with
   * `timeoutError(0)` (what `acquire({ timeout: 0 })` needs). A wait that
   * joins the attempt of a stopped one still in flight is answered as it
   * asked: a one try never stays queued, an ordinary wait never fails busy.
   */
  wait(callbacks: WaitCallbacks<RedisClaim>, once = false): void {
    this.#waiter.wait(callbacks, once);
  }

  /** See `Engine.stopWaiting`. */
  stopWaiting(): void {
    this.#waiter.stopWaiting();
  }

  /** The lock is ours as waiter `grant.id`: the region, the watchdog, the callback. */
  async #granted(grant: Grant): Promise<void> {
    const { id, token, recovered, bytes, since, direct } = grant;
    const waiter = this.#waiter;
    const holding = new Holding(id, token, recovered, this.target, this.#lease);
    if (!waiter.wanted) {
      await waiter.leave(id); // nobody wants it any more: pass it on
      return;
    }
    if (this.#replicas > 0) {
      try {
        if (!direct) await this.#renew(holding);
        await this.#waitReplicas();
      } catch (error) {
        holding.stop();
        await waiter.leave(id);
        waiter.fail(error);
        return;
      }
    }
    const buffer = new ArrayBuffer(this.#length);
    new Uint8Array(buffer).set(
      bytes.length > this.#length ? bytes.subarray(0, this.#length) : bytes,
    );
    this.#buffer = buffer;
    this.#retired = null;
    this.#holding = holding;
    // A grant by mail may have waited in the mailbox while this process
    // was paused: its first renewal comes within a heartbeat, so a lease
    // that ran out meanwhile aborts the signal soon.
    holding.start(
      since,
      direct ? Infinity : this.#heartbeat,
      () => this.#renew(holding),
    );
    const want = waiter.take();
    if (want === null) {
      this.#holding = null;
      this.#buffer = null;
      holding.stop();
      await waiter.leave(id);
      return;
    }
    waiter.lastHolder = {
      host: this.#hub.host,
      pid: process.pid,
      tag: this.#tag,
      since: new Date(),
      leaseLeftMs: this.#lease,
    };
    want.granted(holding); // the claim: token, recovered, signal (made when read)
  }

  async #renew(holding: Holding): Promise<void> {
    const sent = performance.now();
    const reply = await this.#hub.run(SCRIPTS.renew, this.#keys.keys, [
      this.#keys.mailboxPrefix,
      holding.id,
      String(holding.token),
      String(this.#lease),
    ], Math.floor(this.#lease / 3));
    if (holding.released) return;
    if (reply === 1) holding.renewed(sent);
    else throw holding.lose("its lease ran out");
  }

  async #waitReplicas(): Promise<void> {
    const reply = await this.#hub.command(
      [
        "WAIT",
        String(this.#replicas),
        String(Math.floor(this.#lease / 2)),
      ],
      this.#lease,
      this.#keys.keys[0],
    );
    if (typeof reply !== "number" || reply < this.#replicas) {
      throw new RedisConnectionError(
        this.#hub.url.masked,
        `only ${reply} of ${this.#replicas} replicas confirmed the write for ${this.target}`,
      );
    }
  }

  /** See `Engine.release`: writes the bytes back only while the lease is ours. */
  async release(claim: RedisClaim): Promise<void> {
    const holding = this.#holding;
    if (holding === null || holding.token !== claim.token) return;
    this.#holding = null;
    holding.stop();
    const buffer = this.#retired ?? this.#buffer ?? new ArrayBuffer(0);
    this.#buffer = this.#retired = null;
    let reply: Reply;
    try {
      reply = await this.#hub.run(SCRIPTS.release, this.#keys.keys, [
        this.#keys.mailboxPrefix,
        holding.id,
        String(holding.token),
        Buffer.from(buffer),
      ], this.#lease);
    } catch (error) {
      // Unknown whether it reached the server: the holding is over either way.
      holding.lose(`the release failed: ${(error as Error).message}`);
      throw error;
    }
    if (reply !== 1) throw holding.lose("its lease ran out before the release");
    if (this.#replicas > 0) {
      try {
        await this.#waitReplicas();
      } catch (error) {
        throw new LockLostError(
          this.target,
          holding.token,
          (error as Error).message,
        );
      }
    }
  }

  /** See `Engine.region`. */
  region(): ArrayBuffer {
    if (this.#buffer === null) {
      throw new Error(`${this.target}: no region while not held (a bug)`);
    }
    return this.#buffer;
  }

  /** See `Engine.retireRegion`: detaches the views, keeps the bytes for the write-back. */
  retireRegion(): void {
    if (this.#buffer === null) return;
    this.#retired = this.#buffer.transfer();
    this.#buffer = null;
  }

  /** See `Engine.timeoutError`: names the last holder the server told us of. */
  timeoutError(timeout: number): RedisLockTimeoutError {
    return this.#waiter.timeoutError(timeout);
  }

  /** The lock's state on the server (reads only; takes no lock). */
  info(): Promise<RedisLockInfo> {
    return readLockInfo(this.#hub, this.#keys, this.#stepTimeout);
  }

  /** See `Engine.close`. */
  async close(): Promise<void> {
    if (this.#waiter.closed) return;
    await this.#waiter.close();
    await this.#hub.unuse();
  }
}
