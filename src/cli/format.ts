/**
 * How a scan is shown: an aligned table for people, JSON for programs.
 *
 * @module
 */

import type { LockStatus } from "./inspect.ts";
import type { Scan } from "./scan.ts";
import { type Column, renderTable } from "./table.ts";

/** One lock in `--json` output: `LockStatus` with times as ISO strings, plus `heldMs`. */
export interface LockStatusJson extends Omit<LockStatus, "holderSince"> {
  /** Since when the memshare holder has held it (ISO 8601). */
  readonly holderSince: string | null;
  /** For how long, in ms, at the time of the scan. */
  readonly heldMs: number | null;
}

/** The `--json` form of a scan: an array with one object per lock. */
export function toJson(scan: Scan): LockStatusJson[] {
  return scan.locks.map((lock) => ({
    name: lock.name,
    tag: lock.tag,
    length: lock.length,
    locked: lock.locked,
    holderPid: lock.holderPid,
    holderAlive: lock.holderAlive,
    holderSince: lock.holderSince === null
      ? null
      : new Date(lock.holderSince).toISOString(),
    heldMs: heldMs(lock, scan.at),
    acquisitions: lock.acquisitions,
    recoveries: lock.recoveries,
    lockedBy: lock.lockedBy,
    note: lock.note,
    path: lock.path,
    lockPath: lock.lockPath,
    ...(lock.semaphore === undefined ? {} : { semaphore: lock.semaphore }),
    ...(lock.slotOf === undefined
      ? {}
      : { slotOf: lock.slotOf, slot: lock.slot }),
  }));
}

const COLUMNS: readonly Column[] = [
  { title: "NAME" },
  { title: "TAG" },
  { title: "LENGTH", align: "right" },
  { title: "LOCKED" },
  { title: "HOLDER", align: "right" },
  { title: "ALIVE" },
  { title: "HELD FOR", align: "right" },
  { title: "ACQUIRED", align: "right" },
  { title: "RECOVERED", align: "right" },
  { title: "NOTE" },
];

/** The table of a scan, with a title line naming the directory. */
export function formatTable(scan: Scan): string {
  const held = scan.locks.filter((lock) => lock.locked).length;
  const count = plural(scan.locks.length, "lock");
  const title = `memshare locks in ${scan.dir}: ${count}, ${held} held (${
    clock(scan.at)
  })`;
  if (!scan.exists) {
    return `${title}\n  (the directory does not exist yet: no lock has been used there)`;
  }
  if (scan.locks.length === 0) return `${title}\n  (none)`;
  const rows = scan.locks.map((lock) => [
    lock.slotOf === undefined ? lock.name : `  ${lock.name}`,
    lock.tag === null ? "-" : lock.tag === "" ? '""' : lock.tag,
    lock.length === null ? "-" : String(lock.length),
    lock.locked ? "yes" : "no",
    lock.holderPid === null ? "-" : String(lock.holderPid),
    lock.holderAlive === null ? "-" : lock.holderAlive ? "yes" : "no",
    formatDuration(heldMs(lock, scan.at)),
    lock.acquisitions === null ? "-" : String(lock.acquisitions),
    lock.recoveries === null ? "-" : String(lock.recoveries),
    lock.note ?? "",
  ]);
  const footer = scan.flocksVisible
    ? ""
    : "\n  (holders without a memshare header, e.g. flock(1), are not visible on this OS)";
  return `${title}\n${renderTable(COLUMNS, rows, "  ")}${footer}`;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; `-` for none. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) {
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  }
  return `${Math.floor(s / 3_600)} h ${
    String(Math.floor(s / 60) % 60).padStart(2, "0")
  } min`;
}

function heldMs(lock: LockStatus, at: number): number | null {
  return lock.holderSince === null ? null : Math.max(0, at - lock.holderSince);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Local wall-clock time, `HH:MM:SS`. */
function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
