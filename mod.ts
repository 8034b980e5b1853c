/**
 * memshare: one named cross-process lock with a small memory-mapped shared
 * region, for Deno and Bun, through FFI calls into the OS. No native build,
 * no runtime dependency; Deno needs only `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { MemoryShareLock } from "@memshare/lock";
 *
 * const mouse = new MemoryShareLock("mouse_move", {
 *   length: 10,
 *   tagName: "mouse move lock",
 * });
 * await mouse.run((memory) => {
 *   memory[0]++; // one process at a time
 * });
 * ```
 *
 * @module
 */

export {
  type Hook,
  type LockInfo,
  MemoryShareLock,
  type MemoryShareLockOptions,
} from "./src/lock/memory_share_lock.ts";
export type { LockGuard, ShareGuardBase } from "./src/front/guard.ts";
export {
  MemoryShareSemaphore,
  type MemoryShareSemaphoreOptions,
  type SemaphoreHook,
  type SemaphoreInfo,
  type SlotInfo,
} from "./src/lock/memory_share_semaphore.ts";
export type { SlotGuard } from "./src/front/slot_guard.ts";
export type {
  ShareGuard,
  ShareHook,
  ShareLock,
} from "./src/front/share_lock.ts";
export type { AcquireOptions } from "./src/front/options.ts";
export { locked } from "./src/front/locked.ts";
export {
  LockClosedError,
  LockFileError,
  LockHeldError,
  LockTimeoutError,
} from "./src/errors.ts";
export { OsError } from "./src/ffi/platform.ts";
