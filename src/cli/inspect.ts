/**
 * The state of one lock, decided without touching it: the header's holder
 * word (a live pid means held), and for holders that keep no memshare
 * header — flock(1), Python filelock — the kernel's list of flocks.
 *
 * @module
 */

import type { FileId } from "../ffi/platform.ts";
import type { LockFiles } from "./find.ts";
import { type FlockEntry, sameFile } from "./proc_locks.ts";
import { type HeaderRead, readHeader } from "./read_header.ts";

/** What the CLI reports about one lock. */
export interface LockStatus {
  /** Name relative to the directory. */
  readonly name: string;
  /** The data file. */
  readonly path: string;
  /** The lock file. */
  readonly lockPath: string;
  /** The tag in the header; `null` without a memshare header. */
  readonly tag: string | null;
  /** Region length in the header (the largest any opener asked for). */
  readonly length: number | null;
  /** Whether someone holds it now. */
  readonly locked: boolean;
  /** The holder's pid: the header's, else the flock's; also a dead holder's (see `holderAlive`). */
  readonly holderPid: number | null;
  /** Whether `holderPid` is a running process. */
  readonly holderAlive: boolean | null;
  /** Since when (ms since the epoch) the memshare holder has held it. */
  readonly holderSince: number | null;
  /** Times memshare processes took it. */
  readonly acquisitions: number | null;
  /** Times a holder found its predecessor dead. */
  readonly recoveries: number | null;
  /** Where `locked` comes from: the header, or the kernel's flock list. */
  readonly lockedBy: "memshare" | "flock" | null;
  /** Anything unusual, in words; `null` when all is normal. */
  readonly note: string | null;
  /** On a `MemoryShareSemaphore`'s own row: its slots found, and how many are held. */
  readonly semaphore?: { readonly slots: number; readonly held: number };
  /** On a semaphore's slot: the semaphore's name. */
  readonly slotOf?: string;
  /** On a semaphore's slot: the slot number. */
  readonly slot?: number;
}

/** What inspecting needs from the OS; all of it read-only. */
export interface Observer {
  /** Whether a process with this pid exists. */
  processAlive(pid: number): boolean;
  /** Identity of the regular file at `path` (not following symlinks), else `null`. */
  identify(path: string): FileId | null;
  /** Granted flocks, or `null` where the OS does not list them. */
  readonly flocks: readonly FlockEntry[] | null;
}

/**
 * The status of the lock whose files are `files`; `null` when they are not
 * a lock after all (a lone file without a memshare header).
 */
export function inspectLock(
  files: LockFiles,
  observer: Observer,
): LockStatus | null {
  const read: HeaderRead = files.hasData
    ? readHeader(files.path)
    : { kind: "missing" };
  if (!files.hasLock && read.kind !== "header") return null;
  const header = read.kind === "header" ? read.header : null;
  const notes: string[] = [];
  if (read.kind === "problem") notes.push(read.problem);
  if (read.kind === "empty") notes.push("data file not initialized yet");
  if (files.dataKind !== undefined) {
    notes.push(
      `a ${files.dataKind} sits at the data path, not a data file (acquire refuses it)`,
    );
  } else if (!files.hasData) notes.push("plain lock file (no data file)");
  if (!files.hasLock) {
    notes.push("lock file missing (the next acquire recreates it)");
  }

  const flock = flockOn(files, observer);
  const alive = (pid: number) => pid > 0 && observer.processAlive(pid);
  const base = {
    name: files.name,
    path: files.path,
    lockPath: files.lockPath,
    tag: header?.tag ?? null,
    length: header?.length ?? null,
    acquisitions: header?.acquisitions ?? null,
    recoveries: header?.recoveries ?? null,
  };
  const note = () => (notes.length === 0 ? null : notes.join("; "));

  const recorded = header?.holder ?? 0;
  if (recorded !== 0 && alive(recorded)) {
    return {
      ...base,
      locked: true,
      holderPid: recorded,
      holderAlive: true,
      holderSince: header!.since,
      lockedBy: "memshare",
      note: note(),
    };
  }
  if (recorded !== 0) {
    notes.push(
      `holder ${recorded} died holding it; the next acquire recovers it`,
    );
  }
  if (flock !== undefined) {
    // Held through the lock file by something that keeps no header.
    notes.push(
      `held through flock only (flock(1), Python filelock…)${
        flock.exclusive ? "" : ", shared"
      }`,
    );
    const pid = flock.pid > 0 ? flock.pid : null;
    return {
      ...base,
      locked: true,
      holderPid: pid,
      holderAlive: pid === null ? null : alive(pid),
      holderSince: null,
      lockedBy: "flock",
      note: note(),
    };
  }
  return {
    ...base,
    locked: false,
    holderPid: recorded === 0 ? null : recorded,
    holderAlive: recorded === 0 ? null : false,
    holderSince: null,
    lockedBy: null,
    note: note(),
  };
}

/** The granted flock on the lock file, preferring an exclusive one. */
function flockOn(
  files: LockFiles,
  observer: Observer,
): FlockEntry | undefined {
  if (!files.hasLock || observer.flocks === null) return undefined;
  const id = observer.identify(files.lockPath);
  if (id === null) return undefined;
  const on = observer.flocks.filter((entry) => sameFile(entry.id, id));
  return on.find((entry) => entry.exclusive) ?? on[0];
}
