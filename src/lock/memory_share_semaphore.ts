/**
 * `MemoryShareSemaphore`: N named slots shared by processes, each with its
 * own small shared memory region; one instance per semaphore in a realm.
 *
 * @module
 */

import { currentPlatform } from "../ffi/current.ts";
import { describeValue as describe } from "../errors.ts";
import {
  MAX_SLOTS,
  SemaphoreEngine,
  slotPaths,
} from "../engine/local/semaphore_engine.ts";
import { resolvePaths } from "../engine/local/paths.ts";
import { SemaphoreFront } from "../front/semaphore_front.ts";
import { SlotGuard } from "../front/slot_guard.ts";
import {
  type AcquireOptions,
  checkHook,
  checkLength,
  checkMode,
  checkTagName,
  checkTimeout,
} from "../front/options.ts";
import { Registry } from "../front/registry.ts";
import type { ShareLock } from "../front/share_lock.ts";
import { addHook, wrapWith } from "../front/wrap.ts";

/** A hook of a semaphore: runs with the slot's memory right after acquire or right before release. */
export type SemaphoreHook = (
  memory: Uint8Array,
  lock: MemoryShareSemaphore,
) => void | Promise<void>;

/** Options of `new MemoryShareSemaphore(name, options)`. */
export interface MemoryShareSemaphoreOptions {
  /** How many holders at once: an integer from 1 to 1024, fixed when the files are created. */
  slots: number;
  /** Bytes of shared memory per slot: an integer from 1 to 2**30. */
  length: number;
  /** A description kept in the headers. Default: the name. */
  tagName?: string;
  /** Where relative names live (as `MemoryShareLock`'s `dir`). */
  dir?: string;
  /** Default acquire timeout in ms: -1 or `Infinity` waits forever (the default), 0 tries once. */
  timeout?: number;
  /** Permission bits of files memshare creates. Default `0o600`. */
  mode?: number;
  /** Runs right after a slot is taken, with that slot's memory. */
  onAcquire?: SemaphoreHook;
  /** Runs right before a slot is released, with that slot's memory. */
  onRelease?: SemaphoreHook;
}

/** One slot in `SemaphoreInfo`. */
export interface SlotInfo {
  /** The slot number. */
  slot: number;
  /** The slot's data file (its lock file is `path + ".lock"`). */
  path: string;
  /** Whether anyone holds the slot now (this realm or another process). */
  locked: boolean;
  /** The holder's pid when a memshare process holds it. */
  holderPid: number | null;
  /** Since when the holder has held it. */
  holderSince: Date | null;
  /** How many times memshare processes have taken this slot. */
  acquisitions: number;
  /** How many times a holder of this slot found the previous one dead. */
  recoveries: number;
}

/** What `MemoryShareSemaphore.info()` reports. */
export interface SemaphoreInfo {
  /** The meta file, which records the slot count. */
  path: string;
  /** Its lock file. */
  lockPath: string;
  /** How many slots. */
  slots: number;
  /** Bytes per slot this instance maps. */
  length: number;
  /** This instance's tag. */
  tagName: string;
  /** How many slots are held now, by anyone. */
  held: number;
  /** Acquisitions of all slots by memshare processes. */
  acquisitions: number;
  /** Recoveries of all slots. */
  recoveries: number;
  /** Each slot's state, by slot number. */
  slotInfo: SlotInfo[];
}

const OPTION_NAMES = [
  "slots",
  "length",
  "tagName",
  "dir",
  "timeout",
  "mode",
  "onAcquire",
  "onRelease",
];

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
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "MemoryShareSemaphore options must be an object, e.g. { slots: 3, length: 16 }",
      );
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_NAMES.includes(key)) {
        throw new TypeError(
          `MemoryShareSemaphore: unknown option "${key}"; known options: ${
            OPTION_NAMES.join(", ")
          }`,
        );
      }
    }
    const platform = currentPlatform();
    const slots = checkSlots(options.slots);
    const { paths, length, tagName, timeout, mode, onAcquire, onRelease } =
      renamed(() => ({
        paths: resolvePaths(
          name,
          options.dir,
          platform.path,
          () => platform.cwd(),
          () => platform.defaultDirectory(),
        ),
        length: checkLength(options.length),
        tagName: options.tagName === undefined
          ? name
          : checkTagName(options.tagName),
        timeout: options.timeout === undefined
          ? Infinity
          : checkTimeout(options.timeout, `MemoryShareLock option "timeout"`),
        mode: options.mode === undefined ? 0o600 : checkMode(options.mode),
        onAcquire: checkHook(
          options.onAcquire,
          `MemoryShareLock option "onAcquire"`,
        ) as SemaphoreHook | undefined,
        onRelease: checkHook(
          options.onRelease,
          `MemoryShareLock option "onRelease"`,
        ) as SemaphoreHook | undefined,
      }));

    registry ??= new Registry(platform.os === "windows");
    const existing = registry.get(paths.path);
    if (existing !== undefined) {
      existing.#checkAgrees(options, {
        slots,
        length,
        tagName,
        timeout,
        mode,
      });
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
    const slotInfo: SlotInfo[] = [];
    let held = 0, acquisitions = 0, recoveries = 0;
    for (let k = 0; k < this.slots; k++) {
      const state = this.#engine.slotState(k);
      if (state.locked) held++;
      acquisitions += state.acquisitions;
      recoveries += state.recoveries;
      slotInfo.push({
        slot: k,
        path: this.#slotPaths[k],
        locked: state.locked,
        holderPid: state.holderPid,
        holderSince: state.holderSince,
        acquisitions: state.acquisitions,
        recoveries: state.recoveries,
      });
    }
    return {
      path: this.path,
      lockPath: this.lockPath,
      slots: this.slots,
      length: this.length,
      tagName: this.tagName,
      held,
      acquisitions,
      recoveries,
      slotInfo,
    };
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

  #checkAgrees(
    given: MemoryShareSemaphoreOptions,
    resolved: {
      slots: number;
      length: number;
      tagName: string;
      timeout: number;
      mode: number;
    },
  ): void {
    const conflicts: string[] = [];
    const compare = (option: string, mine: unknown, theirs: unknown) => {
      if (mine !== theirs) {
        conflicts.push(
          `${option} (${show(theirs)} here, ${
            show(mine)
          } in the existing instance)`,
        );
      }
    };
    compare("slots", this.slots, resolved.slots);
    compare("length", this.length, resolved.length);
    if (given.tagName !== undefined) {
      compare("tagName", this.tagName, resolved.tagName);
    }
    if (given.timeout !== undefined) {
      compare("timeout", this.timeout, resolved.timeout);
    }
    if (given.mode !== undefined) compare("mode", this.mode, resolved.mode);
    if (given.onAcquire !== undefined) {
      compare("onAcquire", this.#onAcquire, given.onAcquire);
    }
    if (given.onRelease !== undefined) {
      compare("onRelease", this.#onRelease, given.onRelease);
    }
    if (conflicts.length > 0) {
      throw new TypeError(
        `MemoryShareSemaphore for ${this.path} already exists in this realm with other options: ${
          conflicts.join("; ")
        }. Use the same options, or close() the existing one first`,
      );
    }
  }
}

/** `slots`: an integer from 1 to 1024. */
function checkSlots(slots: unknown): number {
  if (typeof slots !== "number") {
    throw new TypeError(
      `MemoryShareSemaphore option "slots" must be a number of holders (1 .. ${MAX_SLOTS}), got ${
        describe(slots)
      }`,
    );
  }
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) {
    throw new RangeError(
      `MemoryShareSemaphore option "slots" must be an integer from 1 to ${MAX_SLOTS}, got ${slots}`,
    );
  }
  return slots;
}

/** Runs the lock's option checks, naming this class in their messages. */
function renamed<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof Error) {
      error.message = error.message.replaceAll(
        "MemoryShareLock",
        "MemoryShareSemaphore",
      );
    }
    throw error;
  }
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
