/**
 * Worker for the "raw flock(EX) in a Worker" hand-off baseline: for each
 * fd posted to it, blocks in `flock(fd, LOCK_EX)` on its own thread and
 * posts the result back. (Bun has no async FFI; this is how a Bun program
 * waits in the kernel without blocking its event loop.)
 *
 * @module
 */

import { libc, LOCK_EX } from "./libc.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: { data: number }) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  scope.postMessage(libc.flock(event.data, LOCK_EX));
};
scope.postMessage("ready");
