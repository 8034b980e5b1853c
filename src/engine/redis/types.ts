/**
 * The Redis engine's public shapes: the claim, the holder and the lock's
 * state as `info()` reports them, and the engine's options.
 *
 * @module
 */

import type { Claim } from "../engine.ts";
import { type Reply, text } from "./client.ts";
import type { RedisUrl } from "./url.ts";

/** A Redis holding: `Claim` plus the signal aborted when the lease is lost. */
export interface RedisClaim extends Claim {
  /** Aborted (with a `LockLostError`) when this holder loses its lease. */
  readonly signal: AbortSignal;
}

/** Who holds a lock, as the server knows it. */
export interface RedisHolder {
  /** The holder's host name (or address). */
  readonly host: string;
  /** Its process id. */
  readonly pid: number;
  /** Its lock's `tagName`. */
  readonly tag: string;
  /** When it took the lock (server time). */
  readonly since: Date;
  /** How long its lease still runs, in ms (0 when it just ran out). */
  readonly leaseLeftMs: number;
}

/** What `RedisEngine.info()` reports. */
export interface RedisLockInfo {
  /** Whether anyone holds the lock (with a live lease). */
  readonly locked: boolean;
  /** The holder, or `null`. */
  readonly holder: RedisHolder | null;
  /** How many waiters (live heartbeats) queue for it. */
  readonly waiting: number;
  /** How many times it was granted. */
  readonly acquisitions: number;
  /** How many holders lost their lease while holding it. */
  readonly recoveries: number;
  /** The last fencing token handed out (0: never). */
  readonly token: number;
}

/** How to build a `RedisEngine`. */
export interface RedisEngineOptions {
  /** The lock's name (no `{` or `}`). */
  readonly name: string;
  /** The server. */
  readonly url: RedisUrl;
  /** Bytes of shared data: 1 .. 2**20. */
  readonly length: number;
  /** The lease in ms (≥ 1000). */
  readonly lease: number;
  /** Shown as the holder's tag. */
  readonly tagName: string;
  /** `WAIT` for this many replicas after a grant and a write-back (0: none). */
  readonly replicas?: number;
  /** Heartbeat period of a queued waiter in ms (default 1000); it is dropped after 3 missed. */
  readonly heartbeat?: number;
}

/** Parses a holder array from a script (`[]` when none). */
export function parseHolder(reply: Reply): RedisHolder | null {
  if (!Array.isArray(reply) || reply.length < 5) return null;
  return {
    host: text(reply[0]),
    pid: Number(text(reply[1])),
    tag: text(reply[2]),
    since: new Date(Number(text(reply[3]))),
    leaseLeftMs: Math.max(0, Number(text(reply[4]))),
  };
}
