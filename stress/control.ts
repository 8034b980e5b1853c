/**
 * The driver's access to the shared region: plain reads and writes of the
 * data file, which on Linux go through the same page cache as the workers'
 * `MAP_SHARED` mappings, so they see each other's words at once. The driver
 * never takes the lock to look (that would change what it watches).
 *
 * @module
 */

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { HEADER_SIZE } from "../src/engine/local/header.ts";

/** Region words (and header words) through an fd of the data file. */
export class Control {
  readonly #fd: number;
  readonly #word = new Uint8Array(4);
  readonly #view = new DataView(this.#word.buffer);

  /** Opens the data file at `path`, which must exist. */
  constructor(path: string) {
    this.#fd = openSync(path, "r+");
  }

  /** Region word `index`. */
  read(index: number): number {
    return this.readAt(HEADER_SIZE + 4 * index);
  }

  /** The u32 at byte `offset` of the data file (header included). */
  readAt(offset: number): number {
    readSync(this.#fd, this.#word, 0, 4, offset);
    return this.#view.getUint32(0, true);
  }

  /** Sets region word `index`. */
  write(index: number, value: number): void {
    this.#view.setUint32(0, value, true);
    writeSync(this.#fd, this.#word, 0, 4, HEADER_SIZE + 4 * index);
  }

  /** Closes the fd. */
  close(): void {
    closeSync(this.#fd);
  }
}
