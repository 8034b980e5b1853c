/**
 * The realm's queue of pending acquires and the one engine wait in flight
 * for its head: what the head wants (the lock, a shared hold, or one try
 * that never queues) is asked of the engine, and its answer goes to
 * whichever task heads the queue when it arrives.
 *
 * @module
 */

import type {
  Claim,
  Engine,
  SharedEngine,
  WaitCallbacks,
} from "../engine/engine.ts";
import { type Waiter, WaitQueue } from "./wait_queue.ts";

/** What the pump needs of its front. */
export interface PumpHost<C extends Claim, G> {
  /** Whether this realm holds the lock exclusively now. */
  holding(): boolean;
  /** How many shared holds this realm has now. */
  readers(): number;
  /** Whether the front and its engine are closed. */
  closed(): boolean;
  /** Gives `claim` to `waiter`, just taken off the head of the queue. */
  grant(claim: C, waiter: Waiter<G>, shared: boolean): void;
}

/** One pending acquire, as `QueuePump.add` takes it. */
export interface PumpRequest<G> {
  /** Ms before it gives up (`Infinity`: never). */
  readonly timeout: number;
  /** Aborts it. */
  readonly signal: AbortSignal | undefined;
  /** The error it rejects with on timeout. */
  readonly timeoutError: () => Error;
  /** Whether it wants a shared hold. */
  readonly shared: boolean;
  /** A condition wait's guard taking the lock back, when it is one. */
  readonly resumes?: G;
  /** One try through the engine that never queues there (`acquire({ timeout: 0 })` on an engine without a synchronous side). */
  readonly once?: boolean;
}

/**
 * The realm's FIFO of acquires, and the engine wait (at most one) asked for
 * its head.
 *
 * @example
 * ```ts ignore
 * const pump = new QueuePump(engine, null, host);
 * const guard = await pump.wait({ timeout: 1_000, signal: undefined, timeoutError, shared: false });
 * ```
 */
export class QueuePump<C extends Claim, G> {
  readonly #queue: WaitQueue<G> = new WaitQueue();
  readonly #engine: Engine<C>;
  readonly #shared: SharedEngine<C> | null;
  readonly #host: PumpHost<C, G>;
  readonly #callbacks: WaitCallbacks<C>;
  /** What the engine wait in flight is for (`null`: none). */
  #waitingFor: "exclusive" | "shared" | "once" | null = null;
  /** The last waiter queued for one try. */
  #once: Waiter<G> | null = null;

  /** A pump asking `engine` (and `shared`, for shared holds) on behalf of `host`. */
  constructor(
    engine: Engine<C>,
    shared: SharedEngine<C> | null,
    host: PumpHost<C, G>,
  ) {
    this.#engine = engine;
    this.#shared = shared;
    this.#host = host;
    this.#callbacks = {
      granted: (claim) => this.#granted(claim),
      failed: (error) => this.#failed(error),
    };
  }

  /** How many acquires are queued. */
  get length(): number {
    return this.#queue.length;
  }

  /** Queues an acquire and asks the engine for it when it heads the queue; settles with its guard. */
  wait(request: PumpRequest<G>): Promise<G> {
    return new Promise<G>((resolve, reject) => {
      const waiter = this.#queue.add(
        resolve,
        reject,
        request.timeout,
        request.signal,
        request.timeoutError,
        request.shared,
      );
      waiter.resumes = request.resumes;
      waiter.onLeave = () => this.#queueChanged();
      if (request.once === true) this.#once = waiter;
      this.pump();
    });
  }

  /** Rejects every queued acquire with `error` (at `close()`). */
  rejectAll(error: unknown): void {
    this.#queue.rejectAll(error);
    this.#once = null;
  }

  /**
   * Asks the engine for what the head of the queue wants (one wait at a
   * time): a shared hold unless this realm holds the lock, the lock unless
   * this realm holds it in any way.
   */
  pump(): void {
    const head = this.#queue.head;
    if (
      head === undefined || this.#host.closed() || this.#waitingFor !== null ||
      this.#host.holding()
    ) {
      return;
    }
    if (head.shared) {
      this.#waitingFor = "shared";
      this.#shared!.waitShared(this.#callbacks);
    } else if (this.#host.readers() === 0) {
      if (head === this.#once) {
        this.#waitingFor = "once";
        this.#engine.wait(this.#callbacks, true);
      } else {
        this.#waitingFor = "exclusive";
        this.#engine.wait(this.#callbacks);
      }
    }
  }

  /** Ends the engine wait in flight, if any. */
  stop(): void {
    if (this.#waitingFor === null) return;
    this.#engine.stopWaiting();
    this.#waitingFor = null;
  }

  /** Tells the engine this realm wants nothing more (at `close()`), whatever is in flight. */
  halt(): void {
    this.#engine.stopWaiting();
    this.#waitingFor = null;
  }

  #granted(claim: C): void {
    if (this.#host.holding()) {
      // Cannot happen: every synchronous take stops the wait first. Were it
      // to, this realm already holds the lock: nothing to hand out.
      this.#waitingFor = null;
      return;
    }
    const shared = this.#waitingFor === "shared";
    this.#waitingFor = null;
    const head = this.#queue.head;
    if (head === undefined || this.#host.closed() || head.shared !== shared) {
      // The tasks that wanted it left (timeout, abort, close) as it came.
      if (shared) this.#shared!.releaseShared(claim);
      else void Promise.resolve(this.#engine.release(claim)).catch(() => {});
      this.pump();
      return;
    }
    const waiter = this.#queue.shift()!;
    if (waiter === this.#once) this.#once = null;
    this.#host.grant(claim, waiter, shared);
    // Readers queued right behind join this one.
    if (shared) this.pump();
  }

  #failed(error: unknown): void {
    this.#waitingFor = null;
    const waiter = this.#queue.shift();
    if (waiter === this.#once) this.#once = null;
    waiter?.fail(error);
    queueMicrotask(() => this.pump());
  }

  /**
   * A task left by timeout or abort: the wait in flight may be for nobody,
   * for the wrong kind, or a one try for a task that is gone.
   */
  #queueChanged(): void {
    const head = this.#queue.head;
    // A one try is queued only into an empty queue: it is the head or gone.
    const once = head !== undefined && head === this.#once;
    if (!once) this.#once = null;
    const waiting = this.#waitingFor;
    if (
      waiting !== null &&
      (head === undefined || head.shared !== (waiting === "shared") ||
        (waiting === "once") !== once)
    ) {
      this.#engine.stopWaiting();
      this.#waitingFor = null;
    }
    this.pump();
  }
}
