/**
 * The waiting side of the Redis engine: this realm's waiter in the server's
 * FIFO queue for one lock. It joins the queue (the acquire script, which
 * grants at once when the lock is free), heartbeats while queued, takes the
 * grant from its mailbox (`BLPOP` on the process's blocking connection),
 * claims a grant whose mail was lost, and leaves the queue when nobody in
 * the realm wants the lock any more. What happens once granted is the
 * engine's (`redis_engine.ts`).
 *
 * @module
 */

import process from "node:process";
import type { WaitCallbacks } from "../engine.ts";
import { type RedisHub, type Reply, text } from "./connection.ts";
import { RedisConnectionError } from "./errors.ts";
import { type LockKeys, SCRIPTS } from "./scripts.ts";
import { RedisLockTimeoutError } from "./timeout_error.ts";
import { parseHolder, type RedisClaim, type RedisHolder } from "./types.ts";

const COLON = 0x3a;

/**
 * What a waiter needs to know of its lock.
 *
 * @example
 * ```ts ignore
 * const settings: WaiterSettings = { hub, keys: lockKeys("crm"), target: "crm on redis://127.0.0.1:6379", lease: 10_000, heartbeat: 1_000, stepTimeout: 5_000, tag: "" };
 * ```
 */
export interface WaiterSettings {
  /** The realm's connections to the server. */
  readonly hub: RedisHub;
  /** The lock's keys. */
  readonly keys: LockKeys;
  /** `name on redis://host:port`, for errors. */
  readonly target: string;
  /** The lease in ms. */
  readonly lease: number;
  /** Heartbeat period while queued, in ms; the server drops a waiter after 3 missed. */
  readonly heartbeat: number;
  /** How long a step may take before it is an error (the client may be reconnecting). */
  readonly stepTimeout: number;
  /** Shown as the holder's tag. */
  readonly tag: string;
}

/**
 * The server granted the lock to waiter `id`: what the engine takes over.
 *
 * @example
 * ```ts ignore
 * const grant: Grant = { id, token: 7, recovered: false, bytes, since: performance.now(), direct: false };
 * ```
 */
export interface Grant {
  /** The waiter id the lock was granted to. */
  readonly id: string;
  /** The fencing token. */
  readonly token: number;
  /** Whether the previous holder lost its lease while holding. */
  readonly recovered: boolean;
  /** The shared bytes as the server keeps them. */
  readonly bytes: Uint8Array;
  /** A `performance.now()` taken before the step that granted it: the lease runs from here at the latest. */
  readonly since: number;
  /** Whether the acquire script granted it (the lease was set just now), rather than a mail or a claim. */
  readonly direct: boolean;
}

/**
 * One lock's waiter in the server's queue, for one realm: at most one wait
 * in flight, as `Engine.wait` asks.
 *
 * @example
 * ```ts ignore
 * const waiter = new RedisWaiter(settings, async (grant) => {
 *   const want = waiter.take();
 *   if (want === null) await waiter.leave(grant.id);
 *   else want.granted({ token: grant.token, recovered: grant.recovered, signal });
 * });
 * waiter.wait({ granted: use, failed: console.error });
 * ```
 */
export class RedisWaiter {
  /** The holder the server last named (this realm after a grant), for timeout errors. */
  lastHolder: RedisHolder | null = null;
  readonly #hub: RedisHub;
  readonly #keys: LockKeys;
  readonly #target: string;
  readonly #lease: number;
  readonly #heartbeat: number;
  readonly #stepTimeout: number;
  readonly #tag: string;
  readonly #granted: (grant: Grant) => Promise<void>;
  /** The lease, the queue's heartbeat expiry and the pid, as the scripts take them. */
  readonly #leaseText: string;
  readonly #ttlText: string;
  readonly #pidText = String(process.pid);
  readonly #engineId = crypto.randomUUID().slice(0, 18);
  #seq = 0;
  #want: WaitCallbacks<RedisClaim> | null = null;
  /** Whether the latest wait is one try that never queues. */
  #once = false;
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
  #closed = false;

  /** A waiter for the lock of `settings`; `granted` takes over each grant (in the join/leave order). */
  constructor(
    settings: WaiterSettings,
    granted: (grant: Grant) => Promise<void>,
  ) {
    this.#hub = settings.hub;
    this.#keys = settings.keys;
    this.#target = settings.target;
    this.#lease = settings.lease;
    this.#heartbeat = settings.heartbeat;
    this.#stepTimeout = settings.stepTimeout;
    this.#tag = settings.tag;
    this.#granted = granted;
    this.#leaseText = String(this.#lease);
    this.#ttlText = String(this.#heartbeat * 3);
  }

  /** Whether a wait is in flight (a grant arriving now is wanted). */
  get wanted(): boolean {
    return this.#want !== null && !this.#closed;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The mailbox key of waiter `id`. */
  #mailbox(id: string): string {
    return this.#keys.mailboxPrefix + id;
  }

  /** Runs `step` after the previous join/leave step of this waiter. */
  #serial(step: () => Promise<void>): void {
    this.#ops = this.#ops.then(step).catch(() => {});
  }

  /**
   * See `RedisEngine.wait`. A wait may join an attempt still in flight
   * (one a stopped wait started): that attempt answers the latest wait's
   * `once`, whatever it was started with.
   */
  wait(callbacks: WaitCallbacks<RedisClaim>, once = false): void {
    if (this.#want !== null || this.#closed) return;
    this.#want = callbacks;
    this.#once = once;
    if (this.#waiterId !== null || this.#joining) return;
    this.#joining = true;
    this.#serial(() => this.#join());
  }

  /** The wait's callbacks, ending the wait; `null` when nobody wants the lock any more. */
  take(): WaitCallbacks<RedisClaim> | null {
    const want = this.#want;
    if (want === null || this.#closed) return null;
    this.#want = null;
    return want;
  }

  /** Ends the wait with `error`. */
  fail(error: unknown): void {
    const want = this.#want;
    this.#want = null;
    want?.failed(error);
  }

  /** The error for a wait that timed out after `timeout` ms: names the last holder the server told of. */
  timeoutError(timeout: number): RedisLockTimeoutError {
    return new RedisLockTimeoutError(this.#target, timeout, this.lastHolder);
  }

  /**
   * Joins the queue (or, for a one try, tries once), answering the latest
   * wait: when a wait of the other kind joined the attempt in flight, a
   * one try that found the lock busy queues for real after all, and an
   * attempt that queued leaves again (passing on a grant that raced in)
   * and fails with `timeoutError(0)`.
   */
  async #join(): Promise<void> {
    let id: string;
    try {
      for (;;) {
        id = `${this.#engineId}.${++this.#seq}`;
        await this.#hub.ready();
        if (this.#want === null) return;
        const once = this.#once;
        const sent = performance.now();
        let reply: Reply;
        try {
          reply = await this.#hub.run(SCRIPTS.acquire, this.#keys.keys, [
            this.#keys.mailboxPrefix,
            id,
            this.#leaseText,
            this.#ttlText,
            this.#hub.host,
            this.#pidText,
            this.#tag,
            once ? "1" : "0",
          ], this.#stepTimeout);
        } catch (error) {
          // It may have run: leave, so a grant it made is passed on.
          void this.leave(id);
          throw error;
        }
        if (!Array.isArray(reply)) throw new Error("bad acquire reply");
        if (reply[0] === 1) {
          await this.#granted({
            id,
            token: Number(reply[1]),
            recovered: reply[2] === 1,
            bytes: reply[3] as Uint8Array,
            since: sent,
            direct: true,
          });
          return;
        }
        this.lastHolder = parseHolder(reply[1]);
        if (!once) {
          // Queued (left below when nobody wants it any more).
          if (this.#want === null || !this.#once) break;
          // The wait now is one try: leave the queue again.
          await this.leave(id);
        }
        if (this.#want === null) return;
        if (this.#once) {
          this.fail(this.timeoutError(0));
          return;
        }
        // An ordinary wait joined a one try that found the lock busy: queue for real.
      }
    } catch (error) {
      this.fail(error);
      return;
    } finally {
      this.#joining = false;
    }
    if (this.#want === null) { // stopWaiting while joining
      await this.leave(id);
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

  /** Takes waiter `id` off the server's queue; a grant it had is passed on. */
  async leave(id: string): Promise<void> {
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
      this.#ttlText,
      this.#leaseText,
      this.#hub.host,
      this.#pidText,
      this.#tag,
    ], this.#heartbeat * 3).then((reply) => {
      this.#hbFailures = 0;
      if (!Array.isArray(reply)) return;
      if (reply[0] !== 2) {
        this.#ownedBeats = 0;
        this.lastHolder = parseHolder(reply[1]);
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
      this.fail(
        error instanceof RedisConnectionError
          ? error
          : new RedisConnectionError(
            this.#hub.url.masked,
            `lost while waiting for ${this.#target}`,
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
      void this.leave(id);
      this.fail(error);
      return;
    }
    this.#joining = false;
    if (Array.isArray(reply) && reply.length === 3) {
      await this.#granted({
        id,
        token: Number(reply[0]),
        recovered: reply[1] === 1,
        bytes: reply[2] as Uint8Array,
        since: performance.now(),
        direct: false,
      });
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
    const token = Number(text(message.subarray(0, first)));
    const recovered = message[first + 1] === 0x31;
    this.#serial(() =>
      this.#granted({
        id,
        token,
        recovered,
        bytes: message.subarray(second + 1),
        since: performance.now(),
        direct: false,
      })
    );
  }

  /** See `Engine.stopWaiting`. */
  stopWaiting(): void {
    if (this.#want === null) return;
    this.#want = null;
    const id = this.#waiterId;
    if (id === null) return; // joining: the join leaves once it sees this
    this.#unqueue();
    this.#serial(() => this.leave(id));
  }

  /** Stops waiting for good; resolves once the join/leave steps in flight are done. */
  async close(): Promise<void> {
    this.#closed = true;
    this.stopWaiting();
    await this.#ops;
  }
}
