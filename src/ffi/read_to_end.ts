/**
 * The read loop behind `Platform.readFile`, shared by the POSIX and Windows
 * platforms: read until the OS reports end of file, never trusting the
 * size the file claims (procfs files stat as size 0, and any file may
 * change while it is read).
 *
 * @module
 */

/** Room for a typical small file in one read; grown by doubling. */
const FIRST_CAPACITY = 64 * 1024;

/**
 * Reads to end of file through `read`, which fills `into` (it may fill
 * less) with the bytes at `offset` (the count read so far) and returns how
 * many it read, 0 at end of file. Returns exactly the bytes read.
 */
export function readToEnd(
  read: (into: Uint8Array, offset: number) => number,
): Uint8Array {
  let buffer = new Uint8Array(FIRST_CAPACITY);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer);
      buffer = grown;
    }
    const n = read(buffer.subarray(length), length);
    if (n === 0) return buffer.slice(0, length);
    length += n;
  }
}
