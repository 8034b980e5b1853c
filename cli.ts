#!/usr/bin/env -S deno run --allow-ffi --allow-read
/**
 * The memshare command line: lists the locks in a directory and their
 * holders without taking, probing or mapping any of them.
 *
 * ```sh
 * deno run --allow-ffi --allow-read cli.ts status [--dir DIR] [--json]
 * deno run --allow-ffi --allow-read cli.ts watch [--dir DIR] [--interval MS]
 * bun cli.ts status
 * ```
 *
 * Deno needs `--allow-ffi` (libc: liveness of pids, /proc/locks, the
 * default directory) and `--allow-read` (listing the directory, reading
 * headers). Exit codes: 0 ok, 1 unexpected failure, 2 a usage or directory
 * problem (one line on stderr naming the path).
 *
 * @module
 */

import process from "node:process";
import { main } from "./src/cli/main.ts";

export { type Io, main } from "./src/cli/main.ts";

if (import.meta.main) {
  // exitCode, not exit(): let stdout drain first (Bun writes pipes asynchronously).
  process.exitCode = await main(process.argv.slice(2));
}
