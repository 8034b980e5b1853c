/**
 * Linux futex wake-ups on words of a shared mapping: a waiter sleeps in the
 * kernel until a releaser bumps the word and wakes it, instead of polling.
 *
 * The words live in `MAP_SHARED` file mappings, so the shared (not
 * `_PRIVATE`) futex operations are used: they key on the file page, which is
 * what makes a wake in one process reach a sleeper in another.
 *
 * Asynchronous sleeps block a thread, never the JavaScript one: Deno runs
 * the call on its FFI pool (`nonblocking`), Bun — which has no async FFI —
 * in a Worker (`futex_worker.ts`). A realm has at most one such call in
 * flight, over all its waiting locks at once (`futex_waitv`), because Deno's
 * pool is shared with file I/O and has ~32 threads: a blocked call per lock
 * would starve `fs` as soon as ~32 locks are contended.
 *
 * @module
 */

import type { AddressWaits } from "../posix/address_waits.ts";
import { errnoNames } from "../posix/errno.ts";
import { type Libc, SYSCALL } from "../posix/libc.ts";
import type { PosixConstants } from "../posix/constants.ts";
import { runtime } from "../runtime/runtime.ts";
import {
  FUTEX_PRIVATE_FLAG,
  FUTEX_WAKE,
  sleepCall,
  type SleepRequest,
  type SleepWord,
  SYS_futex_waitv,
} from "./futex_wait_args.ts";
import { type OffThreadCall, workerCalls } from "../runtime/worker_calls.ts";

const INT_MAX = 0x7fffffff;
/** `futex_waitv` takes at most 128 words; one is the interrupt word. */
const MAX_WORDS = 127;

/** Sleeps for a request off the JavaScript thread. */
type AsyncSleep = OffThreadCall<SleepRequest>;

/** The futex operations, or `undefined` where there is no futex (not Linux). */
export function linuxFutex(
  libc: Libc,
  c: PosixConstants,
): AddressWaits | undefined {
  if (runtime.os !== "linux" || c.SYS_futex === 0) return undefined;
  const sysFutex = c.SYS_futex;
  const clock = (id: number, ts: BigInt64Array) => libc.clock_gettime(id, ts);

  // The interrupt word: process-private memory, so a private futex.
  const page = libc.mmap(
    null,
    4096,
    c.PROT_READ | c.PROT_WRITE,
    c.MAP_SHARED | c.MAP_ANONYMOUS,
    -1,
    0,
  );
  const control = new Int32Array(runtime.arrayBuffer(page, 0, 4));
  const controlAt = Number(runtime.address(page));

  // futex_waitv exists from Linux 5.16 (and not under every emulator);
  // called with nothing it fails with EINVAL where it exists, else ENOSYS.
  libc.syscall(SYS_futex_waitv, 0, 0, 0, 0, 0, 0);
  const waitv = errnoNames("linux")[libc.errno()] !== "ENOSYS";
  const sleepAsync = runtime.name === "deno"
    ? denoPoolSleep(libc.path, clock)
    : workerCalls<SleepRequest>(
      new URL("./futex_worker.ts", import.meta.url).href,
      libc.path,
    );

  return {
    wake(address) {
      libc.syscall(sysFutex, address, FUTEX_WAKE, 1, 0, 0, 0);
    },
    waitSync(address, expected, ms) {
      const call = sleepCall(
        { words: [{ address, expected }], ms, waitv: false, sysFutex },
        clock,
      );
      libc.syscall(...(call.args as Parameters<Libc["syscall"]>));
    },
    waitAny(words, ms) {
      const interrupt: SleepWord = {
        address: controlAt,
        expected: Atomics.load(control, 0),
        private: true,
      };
      // Without futex_waitv only the first word is slept on; the others are
      // rechecked when the sleep's slice ends.
      const list: SleepWord[] = waitv
        ? [interrupt, ...words.slice(0, MAX_WORDS)]
        : [words[0] ?? interrupt];
      return sleepAsync({ words: list, ms, waitv, sysFutex });
    },
    interrupt() {
      Atomics.add(control, 0, 1);
      libc.syscall(
        sysFutex,
        controlAt,
        FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
        INT_MAX,
        0,
        0,
        0,
      );
    },
  };
}

function denoPoolSleep(
  path: string,
  clock: (id: number, ts: BigInt64Array) => number,
): AsyncSleep {
  const { syscall } = runtime.open(path, {
    syscall: { ...SYSCALL, nonblocking: true },
  }) as unknown as { syscall: (...args: number[]) => Promise<unknown> };
  return (request) => {
    const call = sleepCall(request, clock);
    // `call.keep` stays referenced until the call returns: the kernel reads
    // those buffers. (No async function: its extra step would sit between
    // the wake-up and the waiters' retry.)
    return syscall(...call.args).then(() => void call.keep);
  };
}
