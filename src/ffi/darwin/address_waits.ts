/**
 * macOS wake-ups on words of a shared mapping, the counterpart of Linux's
 * futex (`futex.ts`): a waiter sleeps in the kernel until a releaser bumps
 * the word and wakes it, instead of polling.
 *
 * Chosen at run time by what libSystem exports:
 * `os_sync_wait_on_address_with_timeout` (macOS 14.4+), else the private
 * but ABI-stable `__ulock_wait` (10.12+), else nothing (the caller polls).
 * The words live in `MAP_SHARED` file mappings, so the SHARED variants are
 * used: they key the wait on the memory object, which is what makes a wake
 * in one process reach a sleeper in another.
 *
 * macOS cannot sleep on several addresses at once, so `waitAny` sleeps on
 * the first word only; the others are rechecked when its slice (≤ 10 ms)
 * ends. Asynchronous sleeps block a thread, never the JavaScript one, as on
 * Linux: Deno's FFI pool (`nonblocking`), or a Worker for Bun
 * (`darwin_wait_worker.ts`).
 *
 * @module
 */

import type { AddressWaits } from "../posix/address_waits.ts";
import {
  DARWIN_SYMBOLS,
  DARWIN_WAIT_APIS,
  type DarwinCall,
  type DarwinWaitApi,
  WAIT_SYMBOL,
  waitCall,
  wakeCall,
} from "./wait_api.ts";
import type { SleepWord } from "../linux/futex_wait_args.ts";
import type { Libc } from "../posix/libc.ts";
import type { PosixConstants } from "../posix/constants.ts";
import { type OperatingSystem, runtime } from "../runtime/runtime.ts";
import { type OffThreadCall, workerCalls } from "../runtime/worker_calls.ts";

const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
const PAGE = 4096;

/** The macOS waits, and which interface they use. */
export interface DarwinWaits extends AddressWaits {
  /** The interface chosen, for tests and diagnostics. */
  readonly api: DarwinWaitApi;
}

/** Where to look for the functions; the defaults are the running system's. */
export interface DarwinWaitOptions {
  /** The library (default: the one libc was opened from, libSystem on macOS). */
  readonly library?: string;
  /** The OS to assume (default: the running one): only macOS has these functions. */
  readonly os?: OperatingSystem;
}

/** The bound functions of one interface. */
interface Calls {
  readonly api: DarwinWaitApi;
  /** Makes `call` on this thread; returns the C result. */
  make(call: DarwinCall): number;
}

/** The waits over the best interface `library` exports, or `undefined` when it has none (or this is not macOS). */
export function darwinAddressWaits(
  libc: Libc,
  c: PosixConstants,
  options: DarwinWaitOptions = {},
): DarwinWaits | undefined {
  const { library = libc.path, os = runtime.os } = options;
  if (os !== "darwin") return undefined;

  // The interrupt word: process-private memory (a page of our own, so its
  // address never moves), so private waits and wakes.
  const page = libc.mmap(
    null,
    PAGE,
    c.PROT_READ | c.PROT_WRITE,
    c.MAP_SHARED | c.MAP_ANONYMOUS,
    -1,
    0,
  );
  if (runtime.address(page) === MAP_FAILED) return undefined;
  const control = new Int32Array(runtime.arrayBuffer(page, 0, 4));
  const controlAt = Number(runtime.address(page));
  const interruptWord = (): SleepWord => ({
    address: controlAt,
    expected: Atomics.load(control, 0),
    private: true,
  });

  const calls = chooseCalls(library, controlAt, control);
  if (calls === undefined) {
    (control.buffer as ArrayBuffer).transfer(0); // no view may outlive the page
    libc.munmap(page, PAGE);
    return undefined;
  }
  const { api, make } = calls;
  const sleepAsync = runtime.name === "deno"
    ? denoPoolWait(library, api)
    : workerCalls<number[]>(
      new URL("./wait_worker.ts", import.meta.url).href,
      { library, api },
    );
  /** The shared word the in-flight `waitAny` sleeps on, if any. */
  let sleepingOn: SleepWord | undefined;

  return {
    api,
    wake(address) {
      // One sleeper, as on Linux: only one can take the lock, and a waiter
      // that leaves without it passes the wake on.
      make(wakeCall(api, address, false, true));
    },
    waitSync(address, expected, ms) {
      if (!(ms > 0)) return;
      make(waitCall(api, { address, expected }, ms));
    },
    async waitAny(words, ms) {
      const word = words[0] ?? interruptWord();
      sleepingOn = words[0];
      try {
        // Even for ms <= 0, through the other thread (1 µs): a realm whose
        // retries keep failing must still let its event loop run.
        await sleepAsync(waitCall(api, word, ms).args);
      } finally {
        sleepingOn = undefined;
      }
    },
    interrupt() {
      // A sleep on the interrupt word wakes, or never starts: its value moved.
      Atomics.add(control, 0, 1);
      make(wakeCall(api, controlAt, true, false));
      // A sleep on a lock word is woken with every other sleeper on it, here
      // and in other processes: they find nothing changed and sleep again.
      // One that has not reached the kernel yet still sleeps out its slice.
      const word = sleepingOn;
      if (word !== undefined) make(wakeCall(api, word.address, true, true));
    },
  };
}

/**
 * The first interface in `library` whose functions all bind and whose wait
 * works: a wait on `control` for a value it does not hold must return at
 * once with success.
 */
function chooseCalls(
  library: string,
  controlAt: number,
  control: Int32Array,
): Calls | undefined {
  for (const api of DARWIN_WAIT_APIS) {
    const calls = bind(library, api);
    if (calls === undefined) continue;
    const other = (Atomics.load(control, 0) + 1) | 0;
    const probe = { address: controlAt, expected: other, private: true };
    if (calls.make(waitCall(api, probe, 1)) >= 0) return calls;
  }
  return undefined;
}

/** The functions of `api` bound from `library`, or `undefined` when one is missing. */
function bind(library: string, api: DarwinWaitApi): Calls | undefined {
  let fns: Record<string, unknown>;
  try {
    // Deno.dlopen and Bun's dlopen both throw on a missing symbol.
    fns = runtime.open(library, DARWIN_SYMBOLS[api]);
  } catch {
    return undefined;
  }
  const functions = fns as Record<string, (...args: number[]) => number>;
  return {
    api,
    make: (call) => functions[call.symbol](...call.args),
  };
}

/** Deno: the wait on a thread of the FFI pool. */
function denoPoolWait(
  library: string,
  api: DarwinWaitApi,
): OffThreadCall<number[]> {
  const symbol = WAIT_SYMBOL[api];
  const fns = runtime.open(library, {
    [symbol]: { ...DARWIN_SYMBOLS[api][symbol], nonblocking: true },
  }) as unknown as Record<string, (...args: number[]) => Promise<number>>;
  const wait = fns[symbol];
  return async (args) => void await wait(...args);
}
