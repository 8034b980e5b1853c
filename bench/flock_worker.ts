/**
 * Worker for the "raw flock(EX) in a Worker" hand-off baselines: for each
 * fd posted to it, blocks in `flock(fd, LOCK_EX)` on its own thread and
 * tells the main thread — by posting the result back, or, when posted
 * `{ fd, signal }`, by storing the result in `signal[1]`, bumping
 * `signal[0]` and `Atomics.notify`-ing it (the main thread awaits it with
 * `Atomics.waitAsync`). (Bun has no async FFI; this is how a Bun program
 * waits in the kernel without blocking its event loop.)
 *
 * @module
 */

import { libc, LOCK_EX } from "./libc.ts";

const scope = globalThis as unknown as {
  onmessage:
    | ((event: { data: number | { fd: number; signal: Int32Array } }) => void)
    | null;
  postMessage(message: unknown): void;
};

scope.onmessage = ({ data }) => {
  if (typeof data === "number") {
    scope.postMessage(libc.flock(data, LOCK_EX));
    return;
  }
  const { fd, signal } = data;
  Atomics.store(signal, 1, libc.flock(fd, LOCK_EX));
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};
scope.postMessage("ready");
