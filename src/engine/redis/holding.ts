/**
 * One holding of a Redis lock on the client side: its fencing token, the
 * signal aborted when the lease is lost, the watchdog that renews the lease
 * at a third of it, and the local deadline that aborts the signal when no
 * renewal reached the server within the lease (measured from when the
 * last successful renewal was sent, so never later than the server's).
 *
 * @module
 */

import { LockLostError } from "./errors.ts";

/**
 * A holding's signal and timers.
 *
 * @example
 * ```ts ignore
 * const holding = new Holding(id, token, false, target, 10_000);
 * holding.start(sentAt, Infinity, () => renew(holding));
 * holding.stop();
 * ```
 */
export class Holding {
  /** The waiter id that holds it. */
  readonly id: string;
  /** Its fencing token. */
  readonly token: number;
  /** Whether the previous holder lost its lease while holding. */
  readonly recovered: boolean;
  /** Set once released (or given up): a renewal still in flight then changes nothing. */
  released = false;
  readonly #target: string;
  readonly #lease: number;
  /** Made when the signal is first read (most holdings never read it). */
  #controller: AbortController | null = null;
  #lost: LockLostError | null = null;
  /** One timer for both deadlines below, armed at the earlier one. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When (a `performance.now()`) the lease runs out unless renewed. */
  #deadline = 0;
  /** When the next renewal is due. */
  #renewAt = Infinity;
  #period = 0;
  #renew: (() => Promise<void>) | null = null;

  /** A holding of `target` by waiter `id` with `token`, for leases of `lease` ms. */
  constructor(
    id: string,
    token: number,
    recovered: boolean,
    target: string,
    lease: number,
  ) {
    this.id = id;
    this.token = token;
    this.recovered = recovered;
    this.#target = target;
    this.#lease = lease;
  }

  /** Aborted (with a `LockLostError`) when the lease is lost. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#lost !== null) this.#controller.abort(this.#lost);
    }
    return this.#controller.signal;
  }

  /**
   * Starts the watchdog: the lease runs from `since` (a `performance.now()`
   * taken before the step that granted it); `renew` every third of the
   * lease, the first after `firstRenewal` ms at the latest. One timer serves
   * the renewals and the lease's local end, armed at whichever comes first.
   */
  start(
    since: number,
    firstRenewal: number,
    renew: () => Promise<void>,
  ): void {
    this.#renew = renew;
    this.#period = Math.max(100, Math.floor(this.#lease / 3));
    this.#deadline = since + this.#lease;
    const now = performance.now();
    this.#renewAt = now + Math.min(this.#period, firstRenewal);
    this.#arm(now);
  }

  /** A renewal sent at `sent` (a `performance.now()`) succeeded. */
  renewed(sent: number): void {
    // Only ever later: the timer, armed at the earlier deadline, re-arms
    // itself when it finds the lease extended.
    if (this.#lost === null) this.#deadline = sent + this.#lease;
  }

  /** The lease is lost: stops the watchdog, aborts the signal; returns its reason. */
  lose(reason: string): LockLostError {
    clearTimeout(this.#timer);
    if (this.#lost === null) {
      this.#lost = new LockLostError(this.#target, this.token, reason);
      this.#controller?.abort(this.#lost);
    }
    return this.#lost;
  }

  /** Released: stops the watchdog (the signal stays as it is). */
  stop(): void {
    this.released = true;
    clearTimeout(this.#timer);
  }

  #arm(now: number): void {
    this.#timer = setTimeout(
      this.#fire,
      Math.max(0, Math.min(this.#renewAt, this.#deadline) - now),
    );
  }

  readonly #fire = (): void => {
    if (this.released || this.#lost !== null) return;
    const now = performance.now();
    if (now >= this.#deadline) {
      this.lose("no renewal reached the server within the lease");
      return;
    }
    if (now >= this.#renewAt) {
      this.#renewAt = now + this.#period;
      void this.#renew!().catch(() => {});
    }
    this.#arm(now);
  };
}
