/**
 * Building the arguments of one futex sleep — `futex_waitv` over several
 * words, or `FUTEX_WAIT` on one — from plain data, so the same code serves
 * Deno's pool-thread call and Bun's Worker (which receives only the data).
 *
 * @module
 */

import { runtime } from "../runtime/runtime.ts";

/** One word to sleep on. */
export interface SleepWord {
  /** Its address. */
  readonly address: number;
  /** Sleep only while it holds this value. */
  readonly expected: number;
  /** A process-private word (the interrupt word), not a shared mapping. */
  readonly private?: boolean;
}

/** A sleep request: plain data that can cross to a Worker. */
export interface SleepRequest {
  /** The words; with `waitv` false only the first is slept on. */
  readonly words: readonly SleepWord[];
  /** Longest sleep in ms. */
  readonly ms: number;
  /** Use `futex_waitv` (Linux 5.16+) rather than `FUTEX_WAIT`. */
  readonly waitv: boolean;
  /** `SYS_futex` for this architecture. */
  readonly sysFutex: number;
}

/** Arguments for `syscall`, and buffers that must stay referenced during the call. */
export interface SleepCall {
  /** The seven `syscall` arguments. */
  readonly args: number[];
  /** Buffers whose addresses are in `args`. */
  readonly keep: readonly ArrayBufferView[];
}

// include/uapi/linux/futex.h, time.h; the same on x86_64 and aarch64.
const FUTEX_WAIT = 0;
/** `FUTEX_WAKE`. */
export const FUTEX_WAKE = 1;
/** `FUTEX_PRIVATE_FLAG`: a word private to this process. */
export const FUTEX_PRIVATE_FLAG = 128;
const FUTEX2_SIZE_U32 = 2;
const FUTEX2_PRIVATE = 128;
/** `futex_waitv` (Linux 5.16+), the same number on x86_64 and aarch64. */
export const SYS_futex_waitv = 449;
const CLOCK_MONOTONIC = 1;
/** sizeof(struct futex_waitv): u64 val, u64 uaddr, u32 flags, u32 reserved. */
const WAITV_SIZE = 24;

/** Builds the `syscall` arguments for `request`; `clockGettime` reads CLOCK_MONOTONIC (futex_waitv wants an absolute deadline). */
export function sleepCall(
  request: SleepRequest,
  clockGettime: (clock: number, ts: BigInt64Array) => number,
): SleepCall {
  const ms = Math.max(0, request.ms);
  if (!request.waitv) {
    const word = request.words[0];
    const ts = new BigInt64Array([
      BigInt(Math.floor(ms / 1000)),
      BigInt(Math.floor((ms % 1000) * 1e6)),
    ]);
    const op = word.private === true
      ? FUTEX_WAIT | FUTEX_PRIVATE_FLAG
      : FUTEX_WAIT;
    return {
      args: [
        request.sysFutex,
        word.address,
        op,
        word.expected >>> 0,
        runtime.addressOf(ts),
        0,
        0,
      ],
      keep: [ts],
    };
  }
  const list = new Uint8Array(request.words.length * WAITV_SIZE);
  const view = new DataView(list.buffer);
  request.words.forEach((word, i) => {
    const at = i * WAITV_SIZE;
    view.setBigUint64(at, BigInt(word.expected >>> 0), true);
    view.setBigUint64(at + 8, BigInt(word.address), true);
    view.setUint32(
      at + 16,
      FUTEX2_SIZE_U32 | (word.private === true ? FUTEX2_PRIVATE : 0),
      true,
    );
  });
  const deadline = new BigInt64Array(2);
  clockGettime(CLOCK_MONOTONIC, deadline);
  const nanos = deadline[1] + BigInt(Math.floor(ms * 1e6));
  deadline[0] += nanos / 1_000_000_000n;
  deadline[1] = nanos % 1_000_000_000n;
  return {
    args: [
      SYS_futex_waitv,
      runtime.addressOf(list),
      request.words.length,
      0,
      runtime.addressOf(deadline),
      CLOCK_MONOTONIC,
      0,
    ],
    keep: [list, deadline],
  };
}
