/**
 * Bun only: blocking native calls made by a Worker for the main thread,
 * because Bun has no nonblocking FFI. The Worker script gets `{ init }` once,
 * then `{ id, request }` per call, and posts back `id` when the call returns.
 *
 * @module
 */

/** A call made off the JavaScript thread; resolves when it returns. */
export type OffThreadCall<Request> = (request: Request) => Promise<void>;

interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(
    type: "message",
    listener: (event: { data: number }) => void,
  ): void;
  addEventListener(
    type: "error",
    listener: (event: { message?: string }) => void,
  ): void;
  ref?(): void;
  unref?(): void;
}

/**
 * Calls on a Worker started from `url` (given `init`) on first use. If the
 * Worker fails, pending calls return at once and later ones reject.
 */
export function workerCalls<Request>(
  url: string,
  init: unknown,
): OffThreadCall<Request> {
  let worker: WorkerLike | undefined;
  let next = 0;
  const pending = new Map<number, () => void>();
  const start = (): WorkerLike => {
    const WorkerClass = (globalThis as unknown as {
      Worker: new (url: string) => WorkerLike;
    }).Worker;
    const w = new WorkerClass(url);
    w.addEventListener("message", ({ data: id }) => {
      const resolve = pending.get(id);
      pending.delete(id);
      // An idle worker must not keep a finished script alive.
      if (pending.size === 0) w.unref?.();
      resolve?.();
    });
    w.addEventListener("error", (event) => {
      // E.g. a bundle (`bun build --compile`) without the worker's file.
      // Pending and later calls fail; the caller sleeps on its own timer.
      failure = new Error(
        `the wait Worker ${url} failed: ${event.message ?? "no message"}`,
      );
      for (const settle of pending.values()) settle();
      pending.clear();
      w.unref?.();
      console.warn(
        `memshare: ${failure.message}; waiters now retry every slice (10 ms) instead of being woken at once (a bundle, e.g. bun build --compile, does not carry that file)`,
      );
    });
    w.postMessage({ init });
    return w;
  };
  let failure: Error | undefined;
  return (request) => {
    if (failure !== undefined) return Promise.reject(failure);
    worker ??= start();
    const id = next++;
    worker.ref?.();
    worker.postMessage({ id, request });
    return new Promise<void>((resolve) => pending.set(id, resolve));
  };
}
