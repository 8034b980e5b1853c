/**
 * The demo's shared desk: three locks — window focus, the mouse, the
 * clipboard — and the layout of each one's shared memory. Bots and the
 * driver both use it; it uses only the public API.
 *
 * Every region starts with two words kept by the hooks:
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | i32 | owner pid, 0 between turns: stamped on acquire, cleared on release |
 * | 4 | u32 | turns taken |
 *
 * then, per lock:
 *
 * - window: 8 u8 name length, 9.. the active window's name (UTF-8)
 * - mouse: 8 u16 x, 10 u16 y, 12 u32 clicks
 * - clipboard: 8 u32 text length, 12.. the text (UTF-8)
 *
 * A lock that works never lets a holder find the owner word taken on entry,
 * or changed under it: each such sighting is an overlap.
 *
 * @module
 */

import { type Hook, MemoryShareLock } from "../mod.ts";

/** The desk's locks, in the order a bot must take them (window first: no deadlock). */
export const DESK_LOCKS = ["window", "mouse", "clipboard"] as const;

/** One of the desk's locks. */
export type DeskLock = typeof DESK_LOCKS[number];

const LENGTHS: Record<DeskLock, number> = {
  window: 64,
  mouse: 16,
  clipboard: 256,
};
const TAGS: Record<DeskLock, string> = {
  window: "window focus",
  mouse: "mouse move + click",
  clipboard: "clipboard text",
};

/** The three locks, open in this process. */
export type Desk = Record<DeskLock, MemoryShareLock>;

/** Called when a turn finds another owner in the shared memory. */
export type OnOverlap = (lock: DeskLock, message: string) => void;

/**
 * Opens the desk in `dir`. With `pid`, hooks stamp and clear the owner word
 * and count turns, reporting any overlap to `onOverlap`; without, the locks
 * have no hooks (the driver reading the final state).
 */
export function openDesk(
  dir: string,
  turnHooks?: { pid: number; onOverlap: OnOverlap },
): Desk {
  const open = (lock: DeskLock) => {
    const hooks: { onAcquire?: Hook; onRelease?: Hook } = {};
    if (turnHooks !== undefined) {
      const { pid, onOverlap } = turnHooks;
      hooks.onAcquire = (memory) => {
        const previous = Atomics.compareExchange(words(memory), 0, 0, pid);
        if (previous !== 0) {
          onOverlap(lock, `found pid ${previous} still owning it on entry`);
        }
        view(memory).setUint32(4, turnsOf(memory) + 1, true);
      };
      hooks.onRelease = (memory) => {
        const owner = Atomics.compareExchange(words(memory), 0, pid, 0);
        if (owner !== pid) {
          onOverlap(lock, `found pid ${owner} owning it at release`);
        }
      };
    }
    return new MemoryShareLock(lock, {
      length: LENGTHS[lock],
      tagName: TAGS[lock],
      dir,
      ...hooks,
    });
  };
  return {
    window: open("window"),
    mouse: open("mouse"),
    clipboard: open("clipboard"),
  };
}

/** Closes the desk's locks. */
export async function closeDesk(desk: Desk): Promise<void> {
  await Promise.all(DESK_LOCKS.map((lock) => desk[lock].close()));
}

/** The pid stamped as owner of the current turn (0 between turns). */
export function ownerOf(memory: Uint8Array): number {
  return Atomics.load(words(memory), 0);
}

/** How many turns the hooks have counted. */
export function turnsOf(memory: Uint8Array): number {
  return view(memory).getUint32(4, true);
}

/** The active window's name. */
export function activeWindow(memory: Uint8Array): string {
  return readText(memory, 8, 1);
}

/** Sets the active window's name (cut to fit). */
export function setActiveWindow(memory: Uint8Array, name: string): void {
  writeText(memory, 8, 1, name);
}

/** Moves the mouse to (`x`, `y`), clicks, and returns the click's number. */
export function click(memory: Uint8Array, x: number, y: number): number {
  const v = view(memory);
  v.setUint16(8, x, true);
  v.setUint16(10, y, true);
  const clicks = v.getUint32(12, true) + 1;
  v.setUint32(12, clicks, true);
  return clicks;
}

/** Clicks so far, and where the last one was. */
export function mouseState(
  memory: Uint8Array,
): { clicks: number; x: number; y: number } {
  const v = view(memory);
  return {
    clicks: v.getUint32(12, true),
    x: v.getUint16(8, true),
    y: v.getUint16(10, true),
  };
}

/** The clipboard's text. */
export function clipboardText(memory: Uint8Array): string {
  return readText(memory, 8, 4);
}

/** Replaces the clipboard's text (cut to fit on a character boundary). */
export function setClipboardText(memory: Uint8Array, text: string): void {
  writeText(memory, 8, 4, text);
}

function words(memory: Uint8Array): Int32Array {
  return new Int32Array(memory.buffer, memory.byteOffset, 2);
}

function view(memory: Uint8Array): DataView {
  return new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
}

/** Reads UTF-8 text prefixed by its byte length (`prefix` bytes, little-endian). */
function readText(memory: Uint8Array, at: number, prefix: 1 | 4): string {
  const v = view(memory);
  const length = prefix === 1 ? v.getUint8(at) : v.getUint32(at, true);
  const start = at + prefix;
  const end = Math.min(start + length, memory.length);
  return new TextDecoder().decode(memory.subarray(start, end));
}

function writeText(
  memory: Uint8Array,
  at: number,
  prefix: 1 | 4,
  text: string,
): void {
  const start = at + prefix;
  const room = Math.min(memory.length - start, prefix === 1 ? 255 : 2 ** 32);
  // encodeInto writes whole characters only, so a cut never splits one.
  const { written } = new TextEncoder().encodeInto(
    text,
    memory.subarray(start, start + room),
  );
  const v = view(memory);
  if (prefix === 1) v.setUint8(at, written);
  else v.setUint32(at, written, true);
}
