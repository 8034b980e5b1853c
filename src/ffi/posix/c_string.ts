/**
 * JavaScript strings as the NUL-terminated UTF-8 bytes libc takes for paths
 * and names.
 *
 * @module
 */

const encoder = new TextEncoder();

/** `s` as a NUL-terminated UTF-8 C string. */
export const cString = (s: string): Uint8Array => encoder.encode(s + "\0");
