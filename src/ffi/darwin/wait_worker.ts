/**
 * Bun only: a Worker that makes the blocking macOS waits for the main
 * thread, which Bun cannot make asynchronously (it has no nonblocking FFI).
 * It gets `{ init: { library, api } }` once, then `{ id, request }` where the
 * request is the wait's plain-number arguments (`waitCall`), waits, and
 * posts back the id.
 *
 * @module
 */

import { DARWIN_SYMBOLS, type DarwinWaitApi, WAIT_SYMBOL } from "./wait_api.ts";
import { runtime } from "../runtime/runtime.ts";

/** What the main thread sends. */
type Message =
  | { init: { library: string; api: DarwinWaitApi } }
  | { id: number; request: number[] };

interface WorkerScope {
  onmessage: ((event: { data: Message }) => void) | null;
  postMessage(message: number): void;
}

const scope = globalThis as unknown as WorkerScope;
let wait: (...args: number[]) => number;

scope.onmessage = ({ data }) => {
  if ("init" in data) {
    const { library, api } = data.init;
    const symbol = WAIT_SYMBOL[api];
    // Only the wait function: the main thread makes every wake itself.
    const fns = runtime.open(library, {
      [symbol]: DARWIN_SYMBOLS[api][symbol],
    });
    wait = fns[symbol] as unknown as typeof wait;
    return;
  }
  wait(...data.request);
  scope.postMessage(data.id);
};
