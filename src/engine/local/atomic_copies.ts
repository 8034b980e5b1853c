/**
 * Atomic commit (`{ atomic: true }`): the region is kept twice in the data
 * file and the header's published word says which copy holds the bytes the
 * last turn published. A holder works on the other copy — filled from the
 * published one when it first looks in its turn — and release publishes it
 * with one atomic store of the published word, after the bytes are written.
 * A holder killed at any moment so leaves the published bytes whole: it
 * only ever wrote the copy nobody reads.
 *
 * A turn that never looks at the memory copies nothing and publishes
 * nothing.
 *
 * @module
 */

import { type Header, PUBLISHED_WORD } from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";

/**
 * The two copies of one atomic lock, in this realm.
 *
 * @example
 * ```ts ignore
 * const copies = new AtomicCopies(files);
 * new Uint8Array(copies.working())[0] = 1; // under the lock
 * copies.publish();                         // at release
 * ```
 */
export class AtomicCopies {
  readonly #files: SharedFiles;
  /** The copy lent to this turn's holder (filled), -1 while it has not looked. */
  #working = -1;

  /** The copies in the data file behind `files`. */
  constructor(files: SharedFiles) {
    this.#files = files;
  }

  /** The working copy's buffer, filled from the published bytes at the turn's first look. */
  working(): ArrayBuffer {
    const files = this.#files;
    if (this.#working < 0) {
      const published = this.#published(files.header!);
      const working = 1 - published;
      files.copyBytes(working).set(files.copyBytes(published));
      this.#working = working;
    }
    return files.regionAt(this.#working);
  }

  /** The published copy's buffer (what shared holders copy). */
  published(): ArrayBuffer {
    return this.#files.regionAt(this.#published(this.#files.header!));
  }

  /** Makes the working copy the published bytes again (`guard.discard()`). */
  discard(): void {
    const files = this.#files;
    if (this.#working < 0) return;
    files.copyBytes(this.#working).set(
      files.copyBytes(this.#published(files.header!)),
    );
  }

  /**
   * Ends the turn: with `publish`, the working copy (if the holder looked)
   * becomes the published one — one atomic store, after every byte; else
   * it is dropped.
   */
  end(publish: boolean): void {
    const working = this.#working;
    if (working < 0) return;
    this.#working = -1;
    if (publish) {
      Atomics.store(this.#files.header!.words, PUBLISHED_WORD, working);
    }
  }

  #published(header: Header): number {
    return Atomics.load(header.words, PUBLISHED_WORD) & 1;
  }
}
