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
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;

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
   * lease, the first after `firstRenewal` ms at the latest.
   */
  start(
    since: number,
    firstRenewal: number,
    renew: () => Promise<void>,
  ): void {
    this.#arm(since);
    const period = Math.max(100, Math.floor(this.#lease / 3));
    const renewal = () => {
      this.#renewTimer = setTimeout(renewal, period);
      void renew().catch(() => {});
    };
    this.#renewTimer = setTimeout(renewal, Math.min(period, firstRenewal));
  }

  /** A renewal sent at `sent` (a `performance.now()`) succeeded. */
  renewed(sent: number): void {
    if (!this.signal.aborted) this.#arm(sent);
  }

  /** The lease is lost: stops the watchdog, aborts the signal; returns its reason. */
  lose(reason: string): LockLostError {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
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
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
  }

  #arm(since: number): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.lose("no renewal reached the server within the lease"),
      Math.max(0, since + this.#lease - performance.now()),
    );
  }
}
