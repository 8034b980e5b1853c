/**
 * Bun only: a Worker that makes blocking futex sleeps for the main thread,
 * which Bun cannot do asynchronously (it has no nonblocking FFI). It gets a
 * `SleepRequest` as plain data, sleeps, and tells the main thread
 * (`callReturned`).
 *
 * @module
 */

import { SYSCALL } from "../posix/libc.ts";
import { sleepCall, type SleepRequest } from "./futex_wait_args.ts";
import { runtime } from "../runtime/runtime.ts";
import { callReturned } from "../runtime/worker_calls.ts";

interface WorkerScope {
  onmessage: ((event: { data: Message }) => void) | null;
}

type Message =
  | { init: string; signal: Int32Array }
  | { request: SleepRequest };

const scope = globalThis as unknown as WorkerScope;
let syscall: (...args: number[]) => unknown;
let clockGettime: (clock: number, ts: BigInt64Array) => number;
let signal: Int32Array;

scope.onmessage = ({ data }) => {
  if ("init" in data) {
    const fns = runtime.open(data.init, {
      syscall: SYSCALL,
      clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    }) as unknown as {
      syscall: typeof syscall;
      clock_gettime: typeof clockGettime;
    };
    syscall = fns.syscall;
    clockGettime = fns.clock_gettime;
    signal = data.signal;
    return;
  }
  const call = sleepCall(data.request, clockGettime);
  syscall(...call.args);
  callReturned(signal);
};
