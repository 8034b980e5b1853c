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
 * const holding = new Holding(id, token, target, 10_000);
 * holding.start(sentAt, Infinity, () => renew(holding));
 * holding.stop();
 * ```
 */
export class Holding {
  /** The waiter id that holds it. */
  readonly id: string;
  /** Its fencing token. */
  readonly token: number;
  /** Set once released (or given up): a renewal still in flight then changes nothing. */
  released = false;
  readonly #target: string;
  readonly #lease: number;
  readonly #controller = new AbortController();
  /** The one timer: at the next renewal or the deadline, whichever is first. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` by which a renewal must have reached the server. */
  #deadline = Infinity;
  /** `performance.now()` of the next renewal. */
  #nextRenewal = Infinity;
  #period = 0;
  #renew: () => Promise<void> = () => Promise.resolve();

  /** A holding of `target` by waiter `id` with `token`, for leases of `lease` ms. */
  constructor(id: string, token: number, target: string, lease: number) {
    this.id = id;
    this.token = token;
    this.#target = target;
    this.#lease = lease;
  }

  /** Aborted (with a `LockLostError`) when the lease is lost. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Starts the watchdog: the lease runs from `since` (a `performance.now()`
   * taken before the step that granted it); `renew` every third of the
   * lease, the first after `firstRenewal` ms at the latest. One timer
   * serves both the renewals and the deadline (one per acquire, not two).
   */
  start(
    since: number,
    firstRenewal: number,
    renew: () => Promise<void>,
  ): void {
    this.#renew = renew;
    this.#period = Math.max(100, Math.floor(this.#lease / 3));
    this.#deadline = since + this.#lease;
    this.#nextRenewal = performance.now() +
      Math.min(this.#period, firstRenewal);
    this.#schedule();
  }

  /** A renewal sent at `sent` (a `performance.now()`) succeeded. */
  renewed(sent: number): void {
    if (this.signal.aborted || this.released) return;
    this.#deadline = sent + this.#lease;
    this.#schedule();
  }

  /** The lease is lost: stops the watchdog, aborts the signal; returns its reason. */
  lose(reason: string): LockLostError {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.signal.aborted) {
      this.#controller.abort(
        new LockLostError(this.#target, this.token, reason),
      );
    }
    return this.signal.reason;
  }

  /** Released: stops the watchdog (the signal stays as it is). */
  stop(): void {
    this.released = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const at = Math.min(this.#deadline, this.#nextRenewal);
    this.#timer = setTimeout(
      () => this.#tick(),
      Math.max(0, at - performance.now()),
    );
  }

  #tick(): void {
    this.#timer = undefined;
    const now = performance.now();
    if (now >= this.#deadline) {
      this.lose("no renewal reached the server within the lease");
      return;
    }
    if (now >= this.#nextRenewal) {
      this.#nextRenewal = now + this.#period;
      void this.#renew().catch(() => {});
    }
    if (!this.released && !this.signal.aborted) this.#schedule();
  }
}
