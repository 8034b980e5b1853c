#!/usr/bin/env -S deno run --allow-ffi --allow-read
/**
 * The memshare command line: lists the locks in a directory, or on a Redis
 * server, and their holders without taking, probing or mapping any of them.
 *
 * ```sh
 * deno run --allow-ffi --allow-read cli.ts status [--dir DIR] [--json]
 * deno run --allow-ffi --allow-read cli.ts watch [--dir DIR] [--interval MS]
 * deno run --allow-net cli.ts status --redis redis://host:6379 [--json]
 * deno run --allow-net cli.ts watch --redis redis://host:6379 [--interval MS]
 * bun cli.ts status [--redis URL]
 * ```
 *
 * Deno needs `--allow-ffi` (libc: liveness of pids, /proc/locks, the
 * default directory) and `--allow-read` (listing the directory, reading
 * headers); with `--redis`, only `--allow-net` (the Redis client is loaded
 * only then). Exit codes: 0 ok, 1 unexpected failure, 2 a usage, directory
 * or server problem (one line on stderr naming the path or the URL, its
 * password written as `***`).
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
