/**
 * Bun on Windows only: a Worker that makes the blocking
 * `WaitForMultipleObjects` for the main thread, which Bun cannot make
 * asynchronously (it has no nonblocking FFI). Handles are process-wide, so
 * the main thread's values are waited on as they are. It gets
 * `{ id, handles, ms }` and posts back `{ id, result }`.
 *
 * @module
 */

import { runtime } from "../runtime/runtime.ts";
import { MAXIMUM_WAIT_OBJECTS } from "./constants.ts";

interface Request {
  readonly id: number;
  readonly handles: readonly number[];
  readonly ms: number;
}

interface WorkerScope {
  onmessage: ((event: { data: Request }) => void) | null;
  postMessage(message: { id: number; result: number }): void;
}

const scope = globalThis as unknown as WorkerScope;
const { WaitForMultipleObjects } = runtime.open("kernel32.dll", {
  WaitForMultipleObjects: {
    parameters: ["u32", "buffer", "i32", "u32"],
    result: "u32",
  },
}) as unknown as {
  WaitForMultipleObjects: (
    count: number,
    handles: BigUint64Array,
    all: number,
    ms: number,
  ) => number;
};
const list = new BigUint64Array(MAXIMUM_WAIT_OBJECTS);

scope.onmessage = ({ data: { id, handles, ms } }) => {
  handles.forEach((handle, i) => list[i] = BigInt(handle));
  const result = WaitForMultipleObjects(handles.length, list, 0, ms);
  scope.postMessage({ id, result });
};
