/**
 * `MemoryShareSemaphore`: N named slots shared by processes, each with its
 * own small shared memory region; one instance per semaphore in a realm.
 *
 * @module
 */

import { currentPlatform } from "../ffi/current.ts";
import {
  SemaphoreEngine,
  slotPaths,
} from "../engine/local/semaphore_engine.ts";
import { SemaphoreFront } from "../front/semaphore_front.ts";
import { SlotGuard } from "../front/slot_guard.ts";
import { type AcquireOptions, checkHook } from "../front/options.ts";
import { Registry } from "../front/registry.ts";
import type { ShareLock } from "../front/share_lock.ts";
import { addHook, wrapWith } from "../front/wrap.ts";
import {
  checkAgrees,
  checkSemaphoreKeys,
  checkSemaphoreOptions,
  type MemoryShareSemaphoreOptions,
  type SemaphoreHook,
} from "./semaphore_options.ts";
import { type SemaphoreInfo, semaphoreInfo } from "./semaphore_info.ts";

export type {
  MemoryShareSemaphoreOptions,
  SemaphoreHook,
} from "./semaphore_options.ts";
export type { SemaphoreInfo, SlotInfo } from "./semaphore_info.ts";

/** Made on first construction: whether paths ignore case depends on the OS. */
let registry: Registry<MemoryShareSemaphore> | undefined;

/**
 * A counting semaphore across processes: at most `slots` holders at once,
 * each holding one numbered slot with that slot's own shared bytes.
 *
 * Files: `DIR/NAME` records the slot count; slot `k` is `DIR/NAME.slot<k>`
 * (header + `length` bytes, mapped) and `DIR/NAME.slot<k>.lock` (an
 * exclusive `flock`), each an ordinary memshare lock's pair. A holder
 * killed frees its slot with its process. A realm may hold several slots at
 * once; its waiting tasks are served first come, first served.
 *
 * @example
 * ```ts ignore
 * import { MemoryShareSemaphore } from "@memshare/lock";
 *
 * const profiles = new MemoryShareSemaphore("browser_profiles", { slots: 3, length: 256 });
 * {
 *   await using seat = await profiles.acquire({ timeout: 30_000 });
 *   console.log(`using profile ${seat.slot}`); // at most 3 processes at once
 * }
 * ```
 */
export class MemoryShareSemaphore
  implements ShareLock<SlotGuard>, AsyncDisposable {
  /** The meta file (absolute). */
  readonly path!: string;
  /** Its lock file: `path + ".lock"`. */
  readonly lockPath!: string;
  /** How many slots. */
  readonly slots!: number;
  /** Bytes of shared memory per slot. */
  readonly length!: number;
  /** The description written to the headers. */
  readonly tagName!: string;
  /** Default acquire timeout in ms (`Infinity` = forever). */
  readonly timeout!: number;
  /** Permission bits of created files. */
  readonly mode!: number;

  readonly #engine!: SemaphoreEngine;
  readonly #front!: SemaphoreFront<SlotGuard, MemoryShareSemaphore>;
  readonly #slotPaths!: string[];
  readonly #onAcquire: SemaphoreHook | undefined;
  readonly #onRelease: SemaphoreHook | undefined;

  /**
   * Describes the semaphore and validates every option; opens no file.
   * Returns the existing instance for the same name in this realm, after
   * checking that the options given agree with it. Whether `slots` agrees
   * with the files' count is checked on first use.
   */
  constructor(name: string, options: MemoryShareSemaphoreOptions) {
    checkSemaphoreKeys(options);
    const platform = currentPlatform();
    const checked = checkSemaphoreOptions(name, options, platform);
    const {
      paths,
      slots,
      length,
      tagName,
      timeout,
      mode,
      onAcquire,
      onRelease,
    } = checked;

    registry ??= new Registry(platform.os === "windows");
    const existing = registry.get(paths.path);
    if (existing !== undefined) {
      checkAgrees(
        existing.path,
        {
          slots: existing.slots,
          length: existing.length,
          tagName: existing.tagName,
          timeout: existing.timeout,
          mode: existing.mode,
          onAcquire: existing.#onAcquire,
          onRelease: existing.#onRelease,
        },
        options,
        checked,
      );
      return existing;
    }

    this.path = paths.path;
    this.lockPath = paths.lockPath;
    this.slots = slots;
    this.length = length;
    this.tagName = tagName;
    this.timeout = timeout;
    this.mode = mode;
    this.#slotPaths = Array.from(
      { length: slots },
      (_, k) => slotPaths(paths, k).path,
    );
    this.#engine = new SemaphoreEngine(
      platform,
      paths,
      slots,
      length,
      mode,
      tagName,
    );
    this.#front = new SemaphoreFront(this.#engine, {
      lock: this as MemoryShareSemaphore,
      timeout,
      makeGuard: (claim, owner) =>
        new SlotGuard(claim.recovered, claim.token, owner, claim.slot),
      onClosed: () => registry!.delete(this.path, this),
    });
    this.#onAcquire = onAcquire;
    this.#onRelease = onRelease;
    if (onAcquire !== undefined) this.#front.acquireHooks.push(onAcquire);
    if (onRelease !== undefined) this.#front.releaseHooks.push(onRelease);
    registry.set(this.path, this);
  }

  /**
   * Waits for a free slot without busy-spinning and returns its guard.
   * Rejects with `LockTimeoutError` after `timeout` ms, or with
   * `signal.reason` when aborted; a rejected acquire never leaves a slot
   * held. Waiters in one realm are served first come, first served.
   *
   * @example
   * ```ts ignore
   * await using seat = await profiles.acquire({ timeout: 30_000 });
   * ```
   */
  acquire(options?: AcquireOptions): Promise<SlotGuard> {
    return this.#front.acquire(options);
  }

  /**
   * Blocks the thread until a slot is taken. Throws `LockHeldError` at once
   * if this realm holds every slot, and `LockTimeoutError` after `timeout`
   * ms. Hooks must be synchronous.
   *
   * @example
   * ```ts ignore
   * using seat = profiles.acquireSync({ timeout: 2_000 });
   * ```
   */
  acquireSync(options?: { timeout?: number }): SlotGuard {
    return this.#front.acquireSync(options);
  }

  /**
   * One attempt: a guard, or `null` when every slot is busy or other tasks
   * of this realm already wait. Hooks must be synchronous.
   *
   * @example
   * ```ts ignore
   * const seat = profiles.tryAcquire();
   * if (seat !== null) seat.releaseSync();
   * ```
   */
  tryAcquire(): SlotGuard | null {
    return this.#front.tryAcquire();
  }

  /**
   * Runs `fn(memory, guard)` holding a slot; releases when it returns or
   * throws, and returns its result.
   *
   * @example
   * ```ts ignore
   * await Promise.all(jobs.map((job) => profiles.run((_, seat) => job(seat.slot))));
   * ```
   */
  async run<T>(
    fn: (memory: Uint8Array, guard: SlotGuard) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T> {
    await using guard = await this.#front.acquire(options);
    return await fn(guard.memory, guard);
  }

  /**
   * Returns a version of `fn` that runs holding a slot.
   *
   * @example
   * ```ts ignore
   * const render = profiles.wrap(async (url: string) => await browser.render(url));
   * ```
   */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    options?: AcquireOptions,
  ): (...args: A) => Promise<T> {
    return wrapWith(this, fn, options);
  }

  /**
   * Adds a hook run after the constructor's `onAcquire`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = profiles.addAcquireHook((memory) => console.log(memory[0]));
   * ```
   */
  addAcquireHook(hook: SemaphoreHook): () => void {
    return addHook(
      this.#front.acquireHooks,
      checkHook(hook, "addAcquireHook(hook): hook") as SemaphoreHook,
    );
  }

  /**
   * Adds a hook run after the constructor's `onRelease`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = profiles.addReleaseHook((memory) => memory[0]++);
   * ```
   */
  addReleaseHook(hook: SemaphoreHook): () => void {
    return addHook(
      this.#front.releaseHooks,
      checkHook(hook, "addReleaseHook(hook): hook") as SemaphoreHook,
    );
  }

  /**
   * A snapshot of every slot's state, read from the headers (a slot held
   * by a client without a header, such as flock(1), is `locked` with no pid).
   *
   * @example
   * ```ts ignore
   * for (const { slot, holderPid } of profiles.info().slotInfo) console.log(slot, holderPid);
   * ```
   */
  info(): SemaphoreInfo {
    this.#front.assertOpen();
    return semaphoreInfo(
      this,
      this.#slotPaths,
      (k) => this.#engine.slotState(k),
    );
  }

  /**
   * Rejects this realm's queued waiters with `LockClosedError`, waits for
   * this realm's holders to release, then unmaps and closes every file.
   *
   * @example
   * ```ts ignore
   * await profiles.close();
   * ```
   */
  close(): Promise<void> {
    return this.#front.close();
  }

  /** `await using sem = new MemoryShareSemaphore(…)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
