/**
 * The shared region: the data file mapped read-write with
 * `CreateFileMappingW` + `MapViewOfFile`, so every process that maps it
 * sees the same bytes; unmapped, and flushed to disk as `msync(MS_SYNC)`
 * would.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { WindowsErrors } from "./errors.ts";
import { FILE_MAP_READ_WRITE, PAGE_READWRITE } from "./constants.ts";
import type { Handle, Mapping, Platform } from "../platform.ts";
import { type Pointer, runtime } from "../runtime/runtime.ts";

/** A Windows mapping: the view's base address, and the file for FlushFileBuffers. */
export interface WindowsMapping extends Mapping {
  /** The view's base address, for UnmapViewOfFile and FlushViewOfFile. */
  readonly pointer: Pointer;
  /** The mapped file, for FlushFileBuffers and its identity. */
  readonly file: Handle;
}

/** Builds `map`, `unmap` and `flush` over file mappings. */
export function windowsMapping(
  k: Kernel32,
  { error, fail }: WindowsErrors,
): Pick<Platform, "map" | "unmap" | "flush"> {
  return {
    map(handle, length) {
      const section = k.CreateFileMappingW(
        handle,
        null,
        PAGE_READWRITE,
        Math.floor(length / 2 ** 32),
        length % 2 ** 32,
        null,
      );
      if (section === 0) fail("CreateFileMappingW");
      const pointer = k.MapViewOfFile(
        section,
        FILE_MAP_READ_WRITE,
        0,
        0,
        length,
      );
      const e = k.GetLastError();
      // The view holds its own reference to the section: close ours now.
      k.CloseHandle(section);
      if (runtime.address(pointer) === 0n) throw error("MapViewOfFile", e);
      const mapping: WindowsMapping = {
        length,
        pointer,
        file: handle,
        buffer: (offset, len) => runtime.arrayBuffer(pointer, offset, len),
      };
      return mapping;
    },
    unmap(mapping) {
      const m = mapping as WindowsMapping;
      if (k.UnmapViewOfFile(m.pointer) === 0) fail("UnmapViewOfFile");
    },
    flush(mapping) {
      // FlushViewOfFile only starts the writes; FlushFileBuffers waits for
      // them (and the metadata), which is what msync(MS_SYNC) promises.
      const m = mapping as WindowsMapping;
      if (k.FlushViewOfFile(m.pointer, m.length) === 0) fail("FlushViewOfFile");
      if (k.FlushFileBuffers(m.file) === 0) fail("FlushFileBuffers");
    },
  };
}
