/**
 * The region of a semaphore's meta file `NAME` (after the usual header),
 * shared by the semaphore engine and the status CLI.
 *
 * | offset | type | field |
 * | ------ | ---- | ----- |
 * | 0 | u32 | magic `META_MAGIC` ("MSEM"), written last by the first opener |
 * | 4 | u32 | slot count |
 * | 8 | i64 | fencing-token counter (`Atomics.add` by every claim) |
 *
 * @module
 */

/** Bytes of the meta region. */
export const META_LENGTH = 16;
/** "MSEM" read as a little-endian u32: the region belongs to a semaphore. */
export const META_MAGIC = 0x4d45534d;
/** Offset of the slot count. */
export const META_SLOTS_AT = 4;
/** Offset of the token counter. */
export const META_TOKENS_AT = 8;
