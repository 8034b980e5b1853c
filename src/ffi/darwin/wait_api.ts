/**
 * The two macOS wait-on-address interfaces, as data: their symbols, C
 * signatures, constants, and the arguments of one wait or wake. Plain
 * numbers in, plain numbers out, so the main thread and Bun's wait Worker
 * (`darwin_wait_worker.ts`) build the same calls.
 *
 * Sources: <os/os_sync_wait_on_address.h> and <os/clock.h> (macOS 14.4 SDK);
 * xnu bsd/sys/ulock.h. None of these functions is variadic, so fixed-arity
 * FFI signatures are right on arm64 too.
 *
 * @module
 */

import type { SleepWord } from "../linux/futex_wait_args.ts";
import type { ForeignInterface } from "../runtime/runtime.ts";

/** Which interface: `os_sync_*` (macOS 14.4+) or `__ulock_*` (10.12+, private but ABI-stable). */
export type DarwinWaitApi = "os_sync" | "ulock";

/** The interfaces in order of preference: the public one first. */
export const DARWIN_WAIT_APIS: readonly DarwinWaitApi[] = ["os_sync", "ulock"];

// <os/os_sync_wait_on_address.h>: the SHARED flags make the kernel key the
// wait on the memory object, not the address, so it works across processes.
const OS_SYNC_SHARED = 1; // OS_SYNC_WAIT_ON_ADDRESS_SHARED, OS_SYNC_WAKE_BY_ADDRESS_SHARED
const OS_CLOCK_MACH_ABSOLUTE_TIME = 32; // <os/clock.h>; the only clock accepted
const WORD_SIZE = 4;
// bsd/sys/ulock.h
const UL_COMPARE_AND_WAIT = 1;
const UL_COMPARE_AND_WAIT_SHARED = 3;
const ULF_WAKE_ALL = 0x100;
/** `__ulock_wait`'s timeout is a uint32_t of µs. */
const ULOCK_MAX_US = 0xffff_ffff;

/** The wait function of each interface. */
export const WAIT_SYMBOL: Readonly<Record<DarwinWaitApi, string>> = {
  os_sync: "os_sync_wait_on_address_with_timeout",
  ulock: "__ulock_wait",
};

/** Every function of each interface with its C signature; binding them all is the probe for the interface. */
export const DARWIN_SYMBOLS: Readonly<Record<DarwinWaitApi, ForeignInterface>> =
  {
    os_sync: {
      // (void *addr, uint64_t value, size_t size, uint32_t flags,
      //  os_clockid_t clockid, uint64_t timeout_ns /* relative */)
      os_sync_wait_on_address_with_timeout: {
        parameters: ["usize", "u64", "usize", "u32", "u32", "u64"],
        result: "i32",
      },
      // (void *addr, size_t size, uint32_t flags)
      os_sync_wake_by_address_any: {
        parameters: ["usize", "usize", "u32"],
        result: "i32",
      },
      os_sync_wake_by_address_all: {
        parameters: ["usize", "usize", "u32"],
        result: "i32",
      },
    },
    ulock: {
      // (uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us)
      __ulock_wait: {
        parameters: ["u32", "usize", "u64", "u32"],
        result: "i32",
      },
      // (uint32_t operation, void *addr, uint64_t wake_value)
      __ulock_wake: { parameters: ["u32", "usize", "u64"], result: "i32" },
    },
  };

/** A call: which function, with which arguments. */
export interface DarwinCall {
  /** The function's symbol. */
  readonly symbol: string;
  /** Its arguments, all plain numbers. */
  readonly args: number[];
}

/**
 * The wait on `word` for at most `ms`. Never an infinite wait: `__ulock_wait`
 * takes 0 µs as "forever" and `os_sync` rejects 0 ns, so the timeout is at
 * least 1 µs (and at most what the type holds).
 */
export function waitCall(
  api: DarwinWaitApi,
  word: SleepWord,
  ms: number,
): DarwinCall {
  const shared = word.private !== true;
  // The kernel compares the zero-extended 32-bit word with this 64-bit value.
  const value = word.expected >>> 0;
  const us = ms > 0 ? Math.ceil(ms * 1000) : 1;
  if (api === "os_sync") {
    return {
      symbol: WAIT_SYMBOL.os_sync,
      args: [
        word.address,
        value,
        WORD_SIZE,
        shared ? OS_SYNC_SHARED : 0,
        OS_CLOCK_MACH_ABSOLUTE_TIME,
        Math.min(us * 1000, Number.MAX_SAFE_INTEGER),
      ],
    };
  }
  return {
    symbol: WAIT_SYMBOL.ulock,
    args: [
      shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT,
      word.address,
      value,
      Math.min(us, ULOCK_MAX_US),
    ],
  };
}

/** The wake of one sleeper (or `all`) on the word at `address`; `shared` as the sleepers' waits were. */
export function wakeCall(
  api: DarwinWaitApi,
  address: number,
  all: boolean,
  shared: boolean,
): DarwinCall {
  if (api === "os_sync") {
    return {
      symbol: all
        ? "os_sync_wake_by_address_all"
        : "os_sync_wake_by_address_any",
      args: [address, WORD_SIZE, shared ? OS_SYNC_SHARED : 0],
    };
  }
  const op = shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT;
  return {
    symbol: "__ulock_wake",
    args: [op | (all ? ULF_WAKE_ALL : 0), address, 0],
  };
}
