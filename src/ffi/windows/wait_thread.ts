/**
 * `WaitForMultipleObjects` off the JavaScript thread, for the realm's one
 * asynchronous wait: Deno runs it as a `nonblocking` FFI call on its pool
 * thread; Bun, which has no async FFI, in a Worker
 * (`windows_wait_worker.ts`) that makes the blocking call on the same
 * process-wide handle values and posts back.
 *
 * @module
 */

import { runtime } from "../runtime/runtime.ts";
import { WAIT_FAILED } from "./constants.ts";

/** Waits until any of `handles` (at most 64) is signalled, or `ms`; resolves with the wait's result. */
export type WaitAnyHandle = (
  handles: readonly number[],
  ms: number,
) => Promise<number>;

/** The off-thread wait for this runtime. */
export function waitOffThread(): WaitAnyHandle {
  return runtime.name === "deno" ? denoPoolWait() : bunWorkerWait();
}

function denoPoolWait(): WaitAnyHandle {
  const { WaitForMultipleObjects } = runtime.open("kernel32.dll", {
    WaitForMultipleObjects: {
      parameters: ["u32", "usize", "i32", "u32"],
      result: "u32",
      nonblocking: true,
    },
  }) as unknown as {
    WaitForMultipleObjects: (
      count: number,
      handles: number,
      all: number,
      ms: number,
    ) => Promise<number>;
  };
  return async (handles, ms) => {
    // Its own ArrayBuffer: never on the JS heap, so it cannot move while
    // the pool thread reads it.
    const list = new BigUint64Array(new ArrayBuffer(handles.length * 8));
    handles.forEach((handle, i) => list[i] = BigInt(handle));
    const result = await WaitForMultipleObjects(
      handles.length,
      runtime.addressOf(list),
      0,
      ms,
    );
    void list; // referenced until here: the pool thread reads it
    return result;
  };
}

interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(
    type: "message",
    listener: (event: { data: { id: number; result: number } }) => void,
  ): void;
  addEventListener(type: "error", listener: () => void): void;
  ref?(): void;
  unref?(): void;
}

function bunWorkerWait(): WaitAnyHandle {
  let worker: WorkerLike | undefined;
  let broken = false;
  let next = 0;
  const pending = new Map<number, (result: number) => void>();
  const start = (): WorkerLike => {
    const WorkerClass = (globalThis as unknown as {
      Worker: new (url: string) => WorkerLike;
    }).Worker;
    const w = new WorkerClass(
      new URL("./wait_worker.ts", import.meta.url).href,
    );
    w.addEventListener("message", ({ data: { id, result } }) => {
      const resolve = pending.get(id);
      pending.delete(id);
      // An idle worker must not keep a finished script alive.
      if (pending.size === 0) w.unref?.();
      resolve?.(result);
    });
    w.addEventListener("error", () => {
      // Waits then fall back to timers; the callers' slices still end them.
      broken = true;
      for (const resolve of pending.values()) resolve(WAIT_FAILED);
      pending.clear();
      w.unref?.();
    });
    return w;
  };
  return (handles, ms) => {
    if (broken) {
      return new Promise((resolve) => setTimeout(resolve, ms, WAIT_FAILED));
    }
    worker ??= start();
    const id = next++;
    worker.ref?.();
    worker.postMessage({ id, handles, ms });
    return new Promise<number>((resolve) => pending.set(id, resolve));
  };
}
