/**
 * The names of the wake events (`wake_events.ts`): one per wake word,
 * derived from the identity of the mapped file, so every process that maps
 * the same file finds the same event.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { WakeName } from "./wake_events.ts";
import type { WindowsMapping } from "./mapping.ts";
import { BY_HANDLE_FILE_INFORMATION as INFO } from "./constants.ts";
import type { Mapping } from "../platform.ts";

/**
 * Builds `wakeName(mapping, offset)`: the name of the wake event of the
 * word at `offset` of `mapping`, from its file's identity (Local\: the
 * session's namespace, which needs no privilege); `null` when the file's
 * identity cannot be read.
 */
export function windowsWakeNames(k: Kernel32): WakeName {
  const info = new Uint8Array(INFO.size);
  const infoView = new DataView(info.buffer);
  // Read once per mapping: the file behind a mapping never changes.
  const wakeNames = new WeakMap<Mapping, string>();
  return (mapping, offset) => {
    let base = wakeNames.get(mapping);
    if (base === undefined) {
      const file = (mapping as WindowsMapping).file;
      if (k.GetFileInformationByHandle(file, info) === 0) return null;
      const hex = (at: number) =>
        infoView.getUint32(at, true).toString(16).padStart(8, "0");
      base = `Local\\memshare-wake-${hex(INFO.volumeSerial)}-${
        hex(INFO.indexHigh)
      }${hex(INFO.indexLow)}`;
      wakeNames.set(mapping, base);
    }
    return `${base}-${offset}`;
  };
}
