/**
 * The realm's first-come-first-served queue of pending acquires, each with
 * its own timeout timer and abort listener.
 *
 * @module
 */

/** One queued acquire. */
export interface Waiter<T> {
  /** Hands it the result (after `shift`). */
  succeed(value: T): void;
  /** Rejects it (after `shift`). */
  fail(error: unknown): void;
  /** Called when it leaves the queue by timeout or abort. */
  onLeave?: () => void;
}

class QueuedWaiter<T> implements Waiter<T> {
  onLeave?: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  abort: (() => void) | undefined;
  signal: AbortSignal | undefined;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;

  constructor(resolve: (value: T) => void, reject: (error: unknown) => void) {
    this.resolve = resolve;
    this.reject = reject;
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

  /** Enqueues a waiter that times out after `timeout` ms (`Infinity`: never) or on `signal`. */
  add(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    timeout: number,
    signal: AbortSignal | undefined,
    timeoutError: () => Error,
  ): Waiter<T> {
    const waiter = new QueuedWaiter(resolve, reject);
    const leave = (error: () => unknown) => {
      if (!this.#remove(waiter)) return;
      waiter.reject(error());
      waiter.onLeave?.();
    };
    if (timeout !== Infinity) {
      waiter.timer = setTimeout(() => leave(timeoutError), timeout);
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
