/**
 * UTF-16LE strings for the `W` functions of the Windows API: JavaScript
 * strings are already UTF-16 code units, so encoding is a copy, and a lone
 * surrogate in a file name survives the round trip (as Windows allows).
 *
 * @module
 */

/** `text` as a NUL-terminated UTF-16LE buffer, for an `LPCWSTR` argument. */
export function wide(text: string): Uint8Array {
  const units = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return new Uint8Array(units.buffer);
}

/** A buffer with room for `chars` UTF-16 code units, for an `LPWSTR` result. */
export function wideBuffer(chars: number): Uint8Array {
  return new Uint8Array(chars * 2);
}

/** The first `chars` UTF-16 code units of `buffer`, as a string. */
export function readWide(buffer: Uint8Array, chars: number): string {
  // Not TextDecoder: it would turn a lone surrogate into U+FFFD, and a
  // path read back must name the same file.
  const units = new Uint16Array(buffer.buffer, buffer.byteOffset, chars);
  let out = "";
  for (let at = 0; at < chars; at += 8192) {
    out += String.fromCharCode(...units.subarray(at, at + 8192));
  }
  return out;
}
