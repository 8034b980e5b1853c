/**
 * The command line: `status [--dir DIR | --redis URL] [--json]`,
 * `watch [--dir DIR | --redis URL] [--interval MS]`, `help`.
 *
 * @module
 */

import { CliError } from "./errors.ts";

/** A parsed command line. */
export type Command =
  | {
    readonly command: "status";
    /** `null`: the library's default directory. */
    readonly dir: string | null;
    /** A Redis server's URL (as given) instead of a directory, or `null`. */
    readonly redis: string | null;
    readonly json: boolean;
  }
  | {
    readonly command: "watch";
    /** `null`: the library's default directory. */
    readonly dir: string | null;
    /** A Redis server's URL (as given) instead of a directory, or `null`. */
    readonly redis: string | null;
    /** Redraw period in ms. */
    readonly interval: number;
  }
  | { readonly command: "help" };

/** The help text. */
export const USAGE: string =
  `memshare — look at memshare locks without touching them

usage:
  status [--dir DIR] [--json]         list every lock in DIR once
  watch  [--dir DIR] [--interval MS]  redraw that list every MS ms (default 1000) until Ctrl-C
  status --redis URL [--json]         list every lock on a Redis server once
  watch  --redis URL [--interval MS]  redraw that list until Ctrl-C
  help                                this text

DIR defaults to the library's default directory ($XDG_RUNTIME_DIR/memshare,
else /tmp/memshare-<uid>). Nothing is locked, probed or mapped: headers are
read with pread, and on Linux /proc/locks shows flock(1)/filelock holders.

URL is redis://[user:password@]host[:port][/db] or rediss://… (TLS). Each
RedisShareLock there is shown with its holder (host, pid, tag), since when,
the lease left, its waiters and its last fencing token; its state is read by
a read-only script, never by taking the lock. The password is shown as ***.

Deno: deno run --allow-ffi --allow-read cli.ts status
      deno run --allow-read --allow-net cli.ts status --redis URL
Bun:  bun cli.ts status [--redis URL]`;

const MIN_INTERVAL = 50;

/** Parses `argv` (without the program); throws `CliError` on a mistake. */
export function parseArgs(argv: readonly string[]): Command {
  const rest = [...argv];
  const first = rest[0];
  if (first === "help" || first === "--help" || first === "-h") {
    return { command: "help" };
  }
  const command = first === undefined || first.startsWith("-")
    ? "status"
    : rest.shift()!;
  if (command !== "status" && command !== "watch") {
    throw new CliError(
      `unknown command "${command}" (try: status, watch, help)`,
    );
  }
  let dir: string | null = null;
  let redis: string | null = null;
  let json = false;
  let interval = 1_000;
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? rest.shift();
      if (v === undefined || v === "") {
        throw new CliError(`${flag} needs a value`);
      }
      return v;
    };
    if (flag === "--help" || flag === "-h") return { command: "help" };
    if (flag === "--dir") dir = value();
    else if (flag === "--redis") redis = value();
    else if (
      flag === "--json" && command === "status" && inline === undefined
    ) {
      json = true;
    } else if (flag === "--interval" && command === "watch") {
      const text = value();
      interval = Number(text);
      if (!Number.isInteger(interval) || interval < MIN_INTERVAL) {
        throw new CliError(
          `--interval must be a whole number of ms, at least ${MIN_INTERVAL} (got ${text})`,
        );
      }
    } else {
      throw new CliError(`${command}: unknown argument "${arg}" (see: help)`);
    }
  }
  if (dir !== null && redis !== null) {
    throw new CliError(
      `${command}: --dir and --redis exclude each other (one look at one place)`,
    );
  }
  return command === "status"
    ? { command, dir, redis, json }
    : { command, dir, redis, interval };
}
