/**
 * The control block: a small file mapped `MAP_SHARED` by every process of a
 * multi-process benchmark, for start/stop flags, round numbers, timestamps
 * and results. Never part of what is measured: the lock's own data lives
 * elsewhere (the guard's memory, or another word of this block for raw
 * baselines).
 *
 * @module
 */

import { mapFile } from "./libc.ts";

/** Size of every control block in bytes (room for 8000 f64 results). */
export const CONTROL_BYTES = 65536;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread for `ms` milliseconds (fractions allowed). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** A control block mapped from a file. */
export class Control {
  /** Int32 words; use `Atomics` on them. */
  readonly words: Int32Array;
  /** Float64 slots over the same bytes (slot i = bytes 8i..8i+7). */
  readonly floats: Float64Array;
  /** Bytes over the same memory. */
  readonly bytes: Uint8Array;

  /** Maps `path` (created and zero-filled when missing). */
  constructor(path: string) {
    const buffer = mapFile(path, CONTROL_BYTES);
    this.words = new Int32Array(buffer);
    this.floats = new Float64Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /** Blocks (sleeping 50 µs at a time) until word `index` is ≥ `value`. */
  waitFor(index: number, value: number, timeoutMs = 60_000): void {
    const words = this.words;
    const deadline = performance.now() + timeoutMs;
    while (Atomics.load(words, index) < value) {
      if (performance.now() > deadline) {
        throw new Error(
          `control word ${index} stayed ${
            words[index]
          } < ${value} for ${timeoutMs} ms`,
        );
      }
      sleepSync(0.05);
    }
  }
}
