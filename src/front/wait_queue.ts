/**
 * The realm's first-come-first-served queue of pending acquires, each with
 * its own timeout timer and abort listener.
 *
 * @module
 */

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One queued acquire. */
export interface Waiter<T> {
  /** Whether it waits for a shared hold (a reader) rather than the lock itself. */
  readonly shared: boolean;
  /** Hands it the result (after `shift`). */
  succeed(value: T): void;
  /** Rejects it (after `shift`). */
  fail(error: unknown): void;
  /** Called when it leaves the queue by timeout or abort. */
  onLeave?: () => void;
  /** A condition wait's guard taking the lock back, when it is one. */
  resumes?: T;
}

class QueuedWaiter<T> implements Waiter<T> {
  onLeave?: () => void;
  resumes?: T;
  timer: ReturnType<typeof setTimeout> | undefined;
  abort: (() => void) | undefined;
  signal: AbortSignal | undefined;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly shared: boolean;

  constructor(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    shared: boolean,
  ) {
    this.resolve = resolve;
    this.reject = reject;
    this.shared = shared;
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.abort !== undefined) {
      this.signal!.removeEventListener("abort", this.abort);
    }
    this.timer = this.abort = undefined;
  }

  succeed(value: T): void {
    this.resolve(value);
  }

  fail(error: unknown): void {
    this.reject(error);
  }
}

/** FIFO of waiters; a waiter leaves it by `shift`, timeout, abort or `rejectAll`. */
export class WaitQueue<T> {
  #items: QueuedWaiter<T>[] = [];

  /** How many are waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** The first waiter, left in the queue. */
  get head(): Waiter<T> | undefined {
    return this.#items[0];
  }

  /** Enqueues a waiter that times out after `timeout` ms (`Infinity`: never) or on `signal`. */
  add(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    timeout: number,
    signal: AbortSignal | undefined,
    timeoutError: () => Error,
    shared = false,
  ): Waiter<T> {
    const waiter = new QueuedWaiter(resolve, reject, shared);
    const leave = (error: () => unknown) => {
      if (!this.#remove(waiter)) return;
      waiter.reject(error());
      waiter.onLeave?.();
    };
    if (timeout !== Infinity) {
      // Timers take at most 2**31 - 1 ms (longer ones fire after 1 ms): a
      // longer timeout is waited out in such steps.
      const deadline = performance.now() + timeout;
      const arm = (ms: number) => {
        waiter.timer = setTimeout(() => {
          const left = deadline - performance.now();
          if (left > 0 && ms === MAX_TIMER_MS) {
            arm(Math.min(left, MAX_TIMER_MS));
          } else leave(timeoutError);
        }, ms);
      };
      arm(Math.min(timeout, MAX_TIMER_MS));
    }
    if (signal !== undefined) {
      waiter.signal = signal;
      waiter.abort = () => leave(() => signal.reason);
      signal.addEventListener("abort", waiter.abort, { once: true });
    }
    this.#items.push(waiter);
    return waiter;
  }

  /** Takes the first waiter out of the queue, its timer and listener disarmed. */
  shift(): Waiter<T> | undefined {
    const waiter = this.#items.shift();
    waiter?.disarm();
    return waiter;
  }

  /** Rejects every waiter with `error` and empties the queue. */
  rejectAll(error: unknown): void {
    for (const waiter of this.#items.splice(0)) {
      waiter.disarm();
      waiter.reject(error);
    }
  }

  #remove(waiter: QueuedWaiter<T>): boolean {
    const at = this.#items.indexOf(waiter);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    waiter.disarm();
    return true;
  }
}
