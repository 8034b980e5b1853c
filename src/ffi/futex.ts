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

import { errnoNames } from "./errno.ts";
import { type Libc, SYSCALL } from "./libc.ts";
import type { PosixConstants } from "./posix_constants.ts";
import { runtime } from "./runtime.ts";
import {
  FUTEX_PRIVATE_FLAG,
  FUTEX_WAKE,
  sleepCall,
  type SleepRequest,
  type SleepWord,
  SYS_futex_waitv,
} from "./futex_wait_args.ts";

const INT_MAX = 0x7fffffff;
/** Linux `MAP_SHARED | MAP_ANONYMOUS` (the same on x86_64 and aarch64). */
const MAP_SHARED_ANONYMOUS = 0x21;
/** `futex_waitv` takes at most 128 words; one is the interrupt word. */
const MAX_WORDS = 127;

/** Futex operations the platform offers. */
export interface Futex {
  /** Wakes one sleeper on the word at `address`. */
  wake(address: number): void;
  /** Sleeps while the word at `address` equals `expected`, at most `ms`. Blocks the thread. */
  waitSync(address: number, expected: number, ms: number): void;
  /** Resolves when a word changes or is woken, after `ms`, or on `interrupt()`. One call at a time. */
  waitAny(words: readonly SleepWord[], ms: number): Promise<void>;
  /** Makes an in-flight `waitAny` return now. */
  interrupt(): void;
}

/** Sleeps for a request off the JavaScript thread. */
type AsyncSleep = (request: SleepRequest) => Promise<void>;

/** The futex operations, or `undefined` where there is no futex (not Linux). */
export function linuxFutex(libc: Libc, c: PosixConstants): Futex | undefined {
  if (runtime.os !== "linux" || c.SYS_futex === 0) return undefined;
  const sysFutex = c.SYS_futex;
  const clock = (id: number, ts: BigInt64Array) => libc.clock_gettime(id, ts);

  // The interrupt word: process-private memory, so a private futex.
  const page = libc.mmap(
    null,
    4096,
    c.PROT_READ | c.PROT_WRITE,
    MAP_SHARED_ANONYMOUS,
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
    : bunWorkerSleep(libc.path);

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
  return async (request) => {
    const call = sleepCall(request, clock);
    await syscall(...call.args);
    // `call.keep` is referenced until here: the kernel reads those buffers.
    void call.keep;
  };
}

interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(
    type: "message",
    listener: (event: { data: number }) => void,
  ): void;
  ref?(): void;
  unref?(): void;
}

function bunWorkerSleep(path: string): AsyncSleep {
  let worker: WorkerLike | undefined;
  let next = 0;
  const pending = new Map<number, () => void>();
  const start = (): WorkerLike => {
    const WorkerClass = (globalThis as unknown as {
      Worker: new (url: string) => WorkerLike;
    }).Worker;
    const w = new WorkerClass(
      new URL("./futex_worker.ts", import.meta.url).href,
    );
    w.addEventListener("message", ({ data: id }) => {
      const resolve = pending.get(id);
      pending.delete(id);
      // An idle worker must not keep a finished script alive.
      if (pending.size === 0) w.unref?.();
      resolve?.();
    });
    w.postMessage({ init: path });
    return w;
  };
  return (request) => {
    worker ??= start();
    const id = next++;
    worker.ref?.();
    worker.postMessage({ id, request });
    return new Promise<void>((resolve) => pending.set(id, resolve));
  };
}
