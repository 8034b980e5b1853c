/**
 * Bun only: blocking native calls made by a Worker for the main thread,
 * because Bun has no nonblocking FFI. The Worker script gets
 * `{ init, signal }` once, then `{ request }` per call; when the call
 * returns it calls `callReturned(signal)`: a bump of a shared word and an
 * `Atomics.notify`, which the main thread awaits with `Atomics.waitAsync`.
 * That wakes the main thread in one step — no message to build, queue and
 * dispatch as a `postMessage` reply needs.
 *
 * @module
 */

/** A call made off the JavaScript thread; resolves when it returns. One call at a time. */
export type OffThreadCall<Request> = (request: Request) => Promise<void>;

interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(
    type: "error",
    listener: (event: { message?: string }) => void,
  ): void;
  ref?(): void;
  unref?(): void;
}

/** The Worker's side: tells the main thread that the current call returned. */
export function callReturned(signal: Int32Array): void {
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/**
 * Calls on a Worker started from `url` (given `init`) on first use, one at
 * a time. If the Worker fails, a pending call returns at once and later ones
 * reject.
 */
export function workerCalls<Request>(
  url: string,
  init: unknown,
): OffThreadCall<Request> {
  let worker: WorkerLike | undefined;
  let failure: Error | undefined;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const start = (): WorkerLike => {
    const WorkerClass = (globalThis as unknown as {
      Worker: new (url: string) => WorkerLike;
    }).Worker;
    const w = new WorkerClass(url);
    w.addEventListener("error", (event) => {
      // E.g. a bundle (`bun build --compile`) without the worker's file.
      // The pending call and later ones fail; the caller sleeps on its own
      // timer.
      failure = new Error(
        `the wait Worker ${url} failed: ${event.message ?? "no message"}`,
      );
      callReturned(signal);
      w.unref?.();
      console.warn(
        `memshare: ${failure.message}; waiters now retry every slice (10 ms) instead of being woken at once (a bundle, e.g. bun build --compile, does not carry that file)`,
      );
    });
    w.postMessage({ init, signal });
    return w;
  };
  return (request) => {
    if (failure !== undefined) return Promise.reject(failure);
    const w = worker ??= start();
    const seen = Atomics.load(signal, 0);
    w.ref?.();
    w.postMessage({ request });
    const wait = Atomics.waitAsync(signal, 0, seen);
    if (!wait.async) {
      w.unref?.();
      return Promise.resolve();
    }
    // An idle Worker must not keep a finished script alive. (A reaction of
    // its own, registered first: the caller's runs right after it, not a
    // step later.)
    wait.value.then(() => w.unref?.());
    return wait.value as Promise<unknown> as Promise<void>;
  };
}
