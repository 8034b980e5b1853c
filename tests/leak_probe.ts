/**
 * What a process holds, read from `/proc/PID`: open fds, the mappings of
 * files under a directory, resident memory and threads. The leak test reads
 * its child's `/proc` from outside: a Deno child would need `--allow-all`
 * to read its own, and a reading from outside adds no fd of its own.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";

/** One reading of `/proc/PID`. */
export interface Snapshot {
  /** Entries in `/proc/PID/fd`. */
  fds: number;
  /** Lines of `/proc/PID/maps` naming a file under the directory. */
  maps: number;
  /** `VmRSS` in bytes. */
  rss: number;
  /** `Threads` of `/proc/PID/status`. */
  threads: number;
}

/** Reads fds, mappings under `dir`, RSS and threads of process `pid`. */
export function snapshot(pid: number, dir: string): Snapshot {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const match = status.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"));
    if (match === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    maps: readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")
      .filter((line) => line.includes(prefix)).length,
    rss: field("VmRSS") * 1024,
    threads: field("Threads"),
  };
}
