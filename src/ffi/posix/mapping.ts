/**
 * The shared region: the data file mapped `MAP_SHARED` read-write with
 * `mmap`, so every process that maps it sees the same bytes; unmapped and
 * flushed (`msync`) through the pointer kept in the mapping.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { Fail } from "./os_errors.ts";
import type { PosixConstants } from "./constants.ts";
import type { Mapping, Platform } from "../platform.ts";
import { type Pointer, runtime } from "../runtime/runtime.ts";

/** What mmap returns on failure: `(void *) -1`. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** A POSIX mapping: the base pointer kept for munmap/msync. */
export interface PosixMapping extends Mapping {
  /** The base pointer, for munmap and msync. */
  readonly pointer: Pointer;
  /** The base address, for wait words (futex, os_sync, ulock). */
  readonly address: number;
}

/** Builds `map`, `unmap` and `flush` over mmap, munmap and msync. */
export function posixMapping(
  libc: Libc,
  c: PosixConstants,
  fail: Fail,
): Pick<Platform, "map" | "unmap" | "flush"> {
  return {
    map(fd, length) {
      const pointer = libc.mmap(
        null,
        length,
        c.PROT_READ | c.PROT_WRITE,
        c.MAP_SHARED,
        fd,
        0,
      );
      const address = runtime.address(pointer);
      if (address === MAP_FAILED || address === 0n) fail("mmap");
      const mapping: PosixMapping = {
        length,
        pointer,
        address: Number(address),
        buffer: (offset, len) => runtime.arrayBuffer(pointer, offset, len),
      };
      return mapping;
    },
    unmap(mapping) {
      const m = mapping as PosixMapping;
      if (libc.munmap(m.pointer, m.length) !== 0) fail("munmap");
    },
    flush(mapping) {
      const m = mapping as PosixMapping;
      if (libc.msync(m.pointer, m.length, c.MS_SYNC) !== 0) fail("msync");
    },
  };
}
