/**
 * The 256-byte header at the start of the data file, and its codec.
 *
 * Layout (little-endian; byte offsets):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | u32 | magic `MSHL` (0x4c48534d) |
 * | 4 | u16 | layout version (2) |
 * | 6 | u16 | header size (256) |
 * | 8 | u32 | region length: the largest any opener asked for |
 * | 12 | i32 | holder pid, 0 when free: the state word, claimed by compare-and-swap |
 * | 16 | u32 | wake sequence (futex word) |
 * | 20 | u32 | processes waiting on the wake sequence |
 * | 24 | u32 | recovery count |
 * | 28 | u32 | wake pending: set by the releaser that woke the sleepers, cleared by each waiter before it tries |
 * | 32 | f64 | holder since, ms since the epoch |
 * | 40 | f64 | acquisition count |
 * | 48 | 4×u32 | identity (dev/ino) of the lock file the holder locked |
 * | 64 | u8 | tag length in bytes |
 * | 65 | 63 bytes | tag name, UTF-8, truncated on a character boundary |
 * | 128 | u32 | mode flags, fixed at creation: bit 0 = atomic commit (the region is kept twice) |
 * | 132 | u32 | atomic commit: which copy (0 or 1) holds the published bytes |
 * | 136 | i32 | pid of a waiting exclusive acquirer: new shared acquirers wait behind it |
 * | 140 | u32 | turns: bumped by every release after which the bytes may differ while condition waiters are counted (not by a condition waiter whose predicate stayed false); condition waiters sleep on it (futex word) |
 * | 144 | 27×i32 | pids of memshare processes holding the lock shared, 0 = free slot |
 * | 252 | u32 | condition waiters sleeping on the turns word (each counts itself while it still holds, before reading its mark) |
 *
 * Layout 1 was the first 128 bytes alone. The user region starts at 256:
 * 8-byte aligned, and away from the cache lines of the state and wake words.
 * With atomic commit the region is there twice: copy 0 at 256, copy 1 at
 * 256 + the length rounded up to 8; the published word says which one holds
 * the bytes the last turn published, the other is the holder's working copy.
 *
 * @module
 */

import type { FileId } from "../../ffi/platform.ts";

/** Size of the header in bytes; the user region starts here. */
export const HEADER_SIZE = 256;
/** `MSHL` read as a little-endian u32. */
export const MAGIC = 0x4c48534d;
/** The layout version this code reads and writes. */
export const LAYOUT_VERSION = 2;
/** Longest tag kept, in UTF-8 bytes. */
export const TAG_CAPACITY = 63;

// Int32 word indexes.
const W_MAGIC = 0;
const W_VERSION = 1;
const W_LENGTH = 2;
const W_HOLDER = 3;
/** Index in `Header.words` of the wake sequence (futex word). */
export const WAKE_WORD = 4;
/** Index in `Header.words` of the count of processes waiting on it. */
export const WAITERS_WORD = 5;
/** Index in `Header.words` of the wake-pending flag: one wake per round of sleeps, not one per release. */
export const WAKE_PENDING_WORD = 7;
const W_RECOVERIES = 6;
const W_LOCK_ID = 12;
const W_FLAGS = 32;
/** Index in `Header.words` of the atomic commit's published-copy word. */
export const PUBLISHED_WORD = 33;
/** Index in `Header.words` of the waiting exclusive acquirer's pid. */
export const WRITER_WAITING_WORD = 34;
/** Index in `Header.words` of the turns word (futex word of condition waiters). */
export const TURNS_WORD = 35;
/** Index in `Header.words` of the first shared holder's pid slot. */
export const READERS_WORD = 36;
/** How many shared holders the header names (more may hold; `info()` lists these). */
export const READER_SLOTS = 27;
/** Index in `Header.words` of the count of condition waiters sleeping on the turns word. */
export const CONDITION_WAITERS_WORD = 63;
/** Mode flag: the region is kept twice and published whole at release. */
export const FLAG_ATOMIC = 1;
// Float64 indexes.
const F_SINCE = 4;
const F_ACQUISITIONS = 5;
const TAG_LENGTH_AT = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a header says about itself when first read. */
export type HeaderCheck =
  | { readonly ok: true; readonly fresh: boolean }
  | { readonly ok: false; readonly problem: string };

/** A view of a header: over the live mapping, or over a copy read with `pread`. */
export class Header {
  /** Word view; `Atomics` on it work across processes when it is a mapping. */
  readonly words: Int32Array;
  readonly #floats: Float64Array;
  readonly #bytes: Uint8Array;

  /** Views `buffer`, which holds at least `HEADER_SIZE` bytes. */
  constructor(buffer: ArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_SIZE / 4);
    this.#floats = new Float64Array(buffer, 0, HEADER_SIZE / 8);
    this.#bytes = new Uint8Array(buffer, 0, HEADER_SIZE);
  }

  /** Whether this is a header we can use, a fresh (all-zero) one, or neither. */
  check(): HeaderCheck {
    const magic = this.words[W_MAGIC] >>> 0;
    if (magic === 0 && this.#bytes.every((b) => b === 0)) {
      return { ok: true, fresh: true };
    }
    if (magic !== MAGIC) {
      return {
        ok: false,
        problem: `it is not a memshare data file (no "MSHL" header; found 0x${
          magic.toString(16).padStart(8, "0")
        })`,
      };
    }
    const version = this.words[W_VERSION] & 0xffff;
    const size = this.words[W_VERSION] >>> 16;
    if (version !== LAYOUT_VERSION || size !== HEADER_SIZE) {
      return {
        ok: false,
        problem: version > LAYOUT_VERSION
          ? `it was written by a newer memshare (layout ${version}; this one reads ${LAYOUT_VERSION})`
          : version < LAYOUT_VERSION
          ? `it was written by an older memshare (layout ${version}, a ${size}-byte header; this one reads layout ${LAYOUT_VERSION}): once no process of the older version uses it, delete it (and its .lock) to start afresh`
          : `its header has layout ${version} / size ${size}, expected ${LAYOUT_VERSION} / ${HEADER_SIZE}`,
      };
    }
    return { ok: true, fresh: false };
  }

  /** Writes magic, version, size and mode flags into a fresh header. */
  initialize(length: number, flags = 0): void {
    this.words[W_VERSION] = LAYOUT_VERSION | (HEADER_SIZE << 16);
    this.words[W_LENGTH] = length;
    this.words[W_FLAGS] = flags;
    // Magic last: a reader that sees it sees a complete header.
    Atomics.store(this.words, W_MAGIC, MAGIC | 0);
  }

  /** Largest region length any opener asked for. */
  get length(): number {
    return this.words[W_LENGTH] >>> 0;
  }
  set length(value: number) {
    this.words[W_LENGTH] = value;
  }

  /** Mode flags fixed at creation (`FLAG_ATOMIC`). */
  get flags(): number {
    return this.words[W_FLAGS] >>> 0;
  }

  /** Holder pid, 0 when free. */
  get holder(): number {
    return Atomics.load(this.words, W_HOLDER);
  }

  /** Sets the holder to `next` if it is `expected`; returns what it was. */
  swapHolder(expected: number, next: number): number {
    return Atomics.compareExchange(this.words, W_HOLDER, expected, next);
  }

  /** Marks the lock free. */
  clearHolder(): void {
    Atomics.store(this.words, W_HOLDER, 0);
  }

  /** The pid of an exclusive acquirer waiting for the lock, 0 for none. */
  get writerWaiting(): number {
    return Atomics.load(this.words, WRITER_WAITING_WORD);
  }

  /** Sets the waiting writer to `next` if it is `expected`; returns what it was. */
  swapWriterWaiting(expected: number, next: number): number {
    return Atomics.compareExchange(
      this.words,
      WRITER_WAITING_WORD,
      expected,
      next,
    );
  }

  /** The pid in shared-holder slot `slot` (0 .. READER_SLOTS - 1), 0 when free. */
  reader(slot: number): number {
    return Atomics.load(this.words, READERS_WORD + slot);
  }

  /** Sets shared-holder slot `slot` to `next` if it is `expected`; returns what it was. */
  swapReader(slot: number, expected: number, next: number): number {
    return Atomics.compareExchange(
      this.words,
      READERS_WORD + slot,
      expected,
      next,
    );
  }

  /** When the current holder took the lock (ms since the epoch). */
  get since(): number {
    return this.#floats[F_SINCE];
  }
  set since(ms: number) {
    this.#floats[F_SINCE] = ms;
  }

  /** How many times the lock was taken by a memshare holder. */
  get acquisitions(): number {
    return this.#floats[F_ACQUISITIONS];
  }
  set acquisitions(n: number) {
    this.#floats[F_ACQUISITIONS] = n;
  }

  /** How many times a holder found the previous one dead. */
  get recoveries(): number {
    return this.words[W_RECOVERIES] >>> 0;
  }
  set recoveries(n: number) {
    this.words[W_RECOVERIES] = n;
  }

  /** Whether the recorded lock-file identity is `id`. */
  lockIdIs(id: FileId): boolean {
    const w = this.words;
    return w[W_LOCK_ID] === (id[0] | 0) && w[W_LOCK_ID + 1] === (id[1] | 0) &&
      w[W_LOCK_ID + 2] === (id[2] | 0) && w[W_LOCK_ID + 3] === (id[3] | 0);
  }

  /** Records the identity of the lock file the holder locked. */
  recordLockId(id: FileId): void {
    for (let i = 0; i < 4; i++) this.words[W_LOCK_ID + i] = id[i];
  }

  /** The tag name of the last process that mapped the file. */
  get tag(): string {
    const n = Math.min(this.#bytes[TAG_LENGTH_AT], TAG_CAPACITY);
    return decoder.decode(
      this.#bytes.subarray(TAG_LENGTH_AT + 1, TAG_LENGTH_AT + 1 + n),
    );
  }
  set tag(value: string) {
    const bytes = encodeTag(value);
    this.#bytes.fill(0, TAG_LENGTH_AT + 1, TAG_LENGTH_AT + 1 + TAG_CAPACITY);
    this.#bytes.set(bytes, TAG_LENGTH_AT + 1);
    this.#bytes[TAG_LENGTH_AT] = bytes.length;
  }
}

/** UTF-8 bytes of `tag`, cut to `TAG_CAPACITY` without splitting a character. */
export function encodeTag(tag: string): Uint8Array {
  const bytes = encoder.encode(tag);
  if (bytes.length <= TAG_CAPACITY) return bytes;
  let end = TAG_CAPACITY;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
