/**
 * Bun only: a Worker that makes the blocking macOS waits for the main
 * thread, which Bun cannot make asynchronously (it has no nonblocking FFI).
 * It gets `{ init: { library, api }, signal }` once, then `{ request }` where
 * the request is the wait's plain-number arguments (`waitCall`), waits, and
 * tells the main thread (`callReturned`).
 *
 * @module
 */

import { DARWIN_SYMBOLS, type DarwinWaitApi, WAIT_SYMBOL } from "./wait_api.ts";
import { runtime } from "../runtime/runtime.ts";
import { callReturned } from "../runtime/worker_calls.ts";

/** What the main thread sends. */
type Message =
  | { init: { library: string; api: DarwinWaitApi }; signal: Int32Array }
  | { request: number[] };

interface WorkerScope {
  onmessage: ((event: { data: Message }) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
let wait: (...args: number[]) => number;
let signal: Int32Array;

scope.onmessage = ({ data }) => {
  if ("init" in data) {
    const { library, api } = data.init;
    const symbol = WAIT_SYMBOL[api];
    // Only the wait function: the main thread makes every wake itself.
    const fns = runtime.open(library, {
      [symbol]: DARWIN_SYMBOLS[api][symbol],
    });
    wait = fns[symbol] as unknown as typeof wait;
    signal = data.signal;
    return;
  }
  wait(...data.request);
  callReturned(signal);
};
