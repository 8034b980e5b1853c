/**
 * The Redis engine: one lock name on one Redis server, for a fleet of
 * machines. See `scripts.ts` for the keys and the atomic steps; here is the
 * client side: joining the server's FIFO queue, heartbeats while queued,
 * the grant arriving in this waiter's mailbox (`BLPOP` on the process's
 * one blocking connection), the watchdog that renews the lease, and the
 * fenced write-back at release.
 *
 * @module
 */

import process from "node:process";
import type { Engine, WaitCallbacks } from "../engine.ts";
import { RedisHub, type Reply } from "./connection.ts";
import { LockLostError, RedisConnectionError } from "./errors.ts";
import { Holding } from "./holding.ts";
import { type LockKeys, lockKeys, SCRIPTS } from "./scripts.ts";
import { RedisLockTimeoutError } from "./timeout_error.ts";
import {
  parseHolder,
  type RedisClaim,
  type RedisEngineOptions,
  type RedisHolder,
  type RedisLockInfo,
} from "./types.ts";

export type {
  RedisClaim,
  RedisEngineOptions,
  RedisHolder,
  RedisLockInfo,
} from "./types.ts";

const COLON = 0x3a;

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
  readonly #engineId = crypto.randomUUID().slice(0, 18);
  #seq = 0;
  #want: WaitCallbacks<RedisClaim> | null = null;
  /** The waiter id while queued on the server (or joining). */
  #waiterId: string | null = null;
  #joining = false;
  #hbTimer: ReturnType<typeof setInterval> | undefined;
  #hbFailures = 0;
  /** Heartbeats in a row that found this waiter holding the lock. */
  #ownedBeats = 0;
  /** Whether the mailbox is watched (not past a Cluster's bound of blocking connections). */
  #watched = true;
  #ops: Promise<void> = Promise.resolve();
  #holding: Holding | null = null;
  #buffer: ArrayBuffer | null = null;
  #retired: ArrayBuffer | null = null;
  #lastHolder: RedisHolder | null = null;
  #closed = false;

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
  }

  /** The mailbox key of waiter `id`. */
  #mailbox(id: string): string {
    return this.#keys.mailboxPrefix + id;
  }

  #meta(): string {
    return JSON.stringify({
      lease: this.#lease,
      host: this.#hub.host,
      pid: String(process.pid),
      tag: this.#tag,
    });
  }

  /** Runs `step` after the previous join/leave step of this engine. */
  #serial(step: () => Promise<void>): void {
    this.#ops = this.#ops.then(step).catch(() => {});
  }

  /**
   * See `Engine.wait`. With `once`, one attempt that never queues: the
   * lock when it is free and nobody queues for it, else `failed` with
   * `timeoutError(0)` (what `acquire({ timeout: 0 })` needs).
   */
  wait(callbacks: WaitCallbacks<RedisClaim>, once = false): void {
    if (this.#want !== null || this.#closed) return;
    this.#want = callbacks;
    if (this.#waiterId !== null || this.#joining) return;
    this.#joining = true;
    this.#serial(() => this.#join(once));
  }

  #fail(error: unknown): void {
    const want = this.#want;
    this.#want = null;
    want?.failed(error);
  }

  async #join(once = false): Promise<void> {
    const id = `${this.#engineId}.${++this.#seq}`;
    let reply: Reply;
    try {
      await this.#hub.ready();
      if (this.#want === null) return;
      const sent = performance.now();
      try {
        reply = await this.#hub.run(SCRIPTS.acquire, this.#keys.keys, [
          this.#keys.mailboxPrefix,
          id,
          String(this.#lease),
          String(this.#heartbeat * 3),
          this.#hub.host,
          String(process.pid),
          this.#tag,
          once ? "1" : "0",
        ], this.#stepTimeout);
      } catch (error) {
        // It may have run: leave, so a grant it made is passed on.
        void this.#leave(id);
        throw error;
      }
      if (!Array.isArray(reply)) throw new Error("bad acquire reply");
      if (reply[0] === 1) {
        await this.#granted(
          id,
          Number(reply[1]),
          reply[2] === 1,
          reply[3] as Uint8Array,
          sent,
          true,
        );
        return;
      }
      this.#lastHolder = parseHolder(reply[1]);
      if (once) {
        this.#fail(this.timeoutError(0));
        return;
      }
    } catch (error) {
      this.#fail(error);
      return;
    } finally {
      this.#joining = false;
    }
    if (this.#want === null) { // stopWaiting while joining
      await this.#leave(id);
      return;
    }
    this.#waiterId = id;
    this.#hbFailures = 0;
    this.#ownedBeats = 0;
    this.#watched = this.#hub.watch(
      this.#mailbox(id),
      (message) => this.#mail(id, message),
    );
    this.#hbTimer = setInterval(() => this.#beat(id), this.#heartbeat);
  }

  /** Stops being a queued waiter locally (the server side is the caller's). */
  #unqueue(): void {
    if (this.#waiterId !== null) {
      this.#hub.unwatch(this.#mailbox(this.#waiterId));
    }
    this.#waiterId = null;
    clearInterval(this.#hbTimer);
    this.#hbTimer = undefined;
  }

  async #leave(id: string): Promise<void> {
    try {
      await this.#hub.run(SCRIPTS.leave, this.#keys.keys, [
        this.#keys.mailboxPrefix,
        id,
      ], this.#stepTimeout);
    } catch {
      // The server forgets this waiter once its heartbeat lapses.
    }
  }

  #beat(id: string): void {
    if (this.#waiterId !== id) return;
    this.#hub.run(SCRIPTS.heartbeat, this.#keys.keys, [
      this.#keys.mailboxPrefix,
      id,
      String(this.#heartbeat * 3),
      this.#meta(),
    ], this.#heartbeat * 3).then((reply) => {
      this.#hbFailures = 0;
      if (!Array.isArray(reply)) return;
      if (reply[0] !== 2) {
        this.#ownedBeats = 0;
        this.#lastHolder = parseHolder(reply[1]);
      } else if (
        ++this.#ownedBeats >= (this.#watched ? 2 : 1) &&
        this.#waiterId === id
      ) {
        // Granted a heartbeat ago and no mail yet: it was lost; claim it.
        this.#unqueue();
        this.#joining = true;
        this.#serial(() => this.#claim(id));
      }
    }, (error) => {
      if (this.#waiterId !== id || ++this.#hbFailures < 3) return;
      this.#unqueue();
      this.#fail(
        error instanceof RedisConnectionError
          ? error
          : new RedisConnectionError(
            this.#hub.url.masked,
            `lost while waiting for ${this.target}`,
            error,
          ),
      );
    });
  }

  /** Takes a grant whose mail was lost (see `CLAIM`). */
  async #claim(id: string): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#hub.run(SCRIPTS.claim, this.#keys.keys, [
        this.#keys.mailboxPrefix,
        id,
      ], this.#stepTimeout);
    } catch (error) {
      this.#joining = false;
      void this.#leave(id);
      this.#fail(error);
      return;
    }
    this.#joining = false;
    if (Array.isArray(reply) && reply.length === 3) {
      await this.#granted(
        id,
        Number(reply[0]),
        reply[1] === 1,
        reply[2] as Uint8Array,
        performance.now(),
        false,
      );
    } else if (this.#want !== null) {
      this.#joining = true;
      await this.#join(); // not ours after all: queue again
    }
  }

  /** A grant popped from waiter `id`'s mailbox: `token:recovered:bytes`. */
  #mail(id: string, message: Uint8Array): void {
    if (this.#waiterId !== id) return; // left already: LEAVE passed it on
    this.#unqueue();
    const first = message.indexOf(COLON);
    const second = message.indexOf(COLON, first + 1);
    const token = Number(new TextDecoder().decode(message.subarray(0, first)));
    const recovered = message[first + 1] === 0x31;
    this.#serial(() =>
      this.#granted(
        id,
        token,
        recovered,
        message.subarray(second + 1),
        performance.now(),
        false,
      )
    );
  }

  /** The lock is ours as waiter `id`: the region, the watchdog, the callback. */
  async #granted(
    id: string,
    token: number,
    recovered: boolean,
    bytes: Uint8Array,
    since: number,
    direct: boolean,
  ): Promise<void> {
    const holding = new Holding(id, token, this.target, this.#lease);
    if (this.#want === null || this.#closed) {
      await this.#leave(id); // nobody wants it any more: pass it on
      return;
    }
    if (this.#replicas > 0) {
      try {
        if (!direct) await this.#renew(holding);
        await this.#waitReplicas();
      } catch (error) {
        holding.stop();
        await this.#leave(id);
        this.#fail(error);
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
    const want = this.#want;
    if (want === null || this.#closed) {
      this.#holding = null;
      this.#buffer = null;
      holding.stop();
      await this.#leave(id);
      return;
    }
    this.#want = null;
    this.#lastHolder = {
      host: this.#hub.host,
      pid: process.pid,
      tag: this.#tag,
      since: new Date(),
      leaseLeftMs: this.#lease,
    };
    want.granted({ token, recovered, signal: holding.signal });
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

  /** See `Engine.stopWaiting`. */
  stopWaiting(): void {
    if (this.#want === null) return;
    this.#want = null;
    const id = this.#waiterId;
    if (id === null) return; // joining: the join leaves once it sees this
    this.#unqueue();
    this.#serial(() => this.#leave(id));
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
        new Uint8Array(buffer),
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
  timeoutError(timeout: number): Error {
    return new RedisLockTimeoutError(this.target, timeout, this.#lastHolder);
  }

  /** The lock's state on the server (reads only; takes no lock). */
  async info(): Promise<RedisLockInfo> {
    await this.#hub.ready();
    const reply = await this.#hub.run(SCRIPTS.info, this.#keys.keys, [
      this.#keys.mailboxPrefix,
    ], this.#stepTimeout);
    if (!Array.isArray(reply)) throw new Error("bad info reply");
    const holder = parseHolder(reply[1]);
    return {
      locked: reply[0] === 1,
      holder,
      waiting: Number(reply[2]),
      acquisitions: Number(reply[3]),
      recoveries: Number(reply[4]),
      token: Number(reply[5]),
    };
  }

  /** See `Engine.close`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stopWaiting();
    await this.#ops;
    await this.#hub.unuse();
  }
}
