/**
 * Semaphores in a scan: a `MemoryShareSemaphore` named NAME records its
 * slot count in the region of `NAME` and keeps slot k in `NAME.slot<k>`
 * (+ `.lock`), so its slots show up as locks of their own. This puts each
 * slot right under its semaphore, in slot order, says which slot it is, and
 * counts the held ones on the semaphore's row. Reads only.
 *
 * @module
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { HEADER_SIZE } from "../engine/local/header.ts";
import { META_MAGIC, META_SLOTS_AT } from "../engine/local/semaphore_meta.ts";
import type { LockStatus } from "./inspect.ts";

const SLOT = /^(.+)\.slot(\d+)$/;
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** `locks` (sorted by name) with each semaphore's slots grouped under it and annotated. */
export function groupSemaphores(
  locks: readonly LockStatus[],
  slotCount: (path: string) => number | null = readSlotCount,
): LockStatus[] {
  const counts = new Map<string, number>();
  for (const lock of locks) {
    if (lock.tag === null) continue; // no memshare header
    const count = slotCount(lock.path);
    if (count !== null) counts.set(lock.name, count);
  }
  if (counts.size === 0) return [...locks];
  const slotsOf = new Map<string, { slot: number; lock: LockStatus }[]>();
  for (const lock of locks) {
    const match = SLOT.exec(lock.name);
    if (match === null || !counts.has(match[1])) continue;
    const list = slotsOf.get(match[1]) ?? [];
    list.push({ slot: Number(match[2]), lock });
    slotsOf.set(match[1], list);
  }
  const isSlot = new Set(
    [...slotsOf.values()].flatMap((list) => list.map((entry) => entry.lock)),
  );
  const grouped: LockStatus[] = [];
  for (const lock of locks) {
    if (isSlot.has(lock)) continue;
    const count = counts.get(lock.name);
    if (count === undefined) {
      grouped.push(lock);
      continue;
    }
    const slots = (slotsOf.get(lock.name) ?? []).sort((a, b) =>
      a.slot - b.slot
    );
    const held = slots.filter((entry) => entry.lock.locked).length;
    grouped.push({
      ...lock,
      semaphore: { slots: count, held },
      note: join(`semaphore: ${held} of ${count} slots held`, lock.note),
    });
    for (const { slot, lock: slotLock } of slots) {
      grouped.push({
        ...slotLock,
        slotOf: lock.name,
        slot,
        note: join(`slot ${slot} of ${lock.name}`, slotLock.note),
      });
    }
  }
  return grouped;
}

/** The slot count a semaphore's meta file records; `null` for any other file. */
export function readSlotCount(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const bytes = new Uint8Array(8);
    if (readSync(fd, bytes, 0, 8, HEADER_SIZE) < 8) return null;
    const view = new DataView(bytes.buffer);
    if (view.getUint32(0, true) !== META_MAGIC) return null;
    return view.getUint32(META_SLOTS_AT, true);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function join(first: string, rest: string | null): string {
  return rest === null ? first : `${first}; ${rest}`;
}
