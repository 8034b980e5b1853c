/**
 * The CLI's commands: parse, look, print. Returns the exit code instead of
 * exiting, so it can run inside tests and other programs.
 *
 * @module
 */

import process from "node:process";
import { currentPlatform } from "../ffi/current.ts";
import type { Platform } from "../ffi/platform.ts";
import { type Command, parseArgs, USAGE } from "./args.ts";
import { CliError, isPermissionError, maskUrls } from "./errors.ts";
import { formatTable, toJson } from "./format.ts";
import { scanDirectory } from "./scan.ts";
import { watch } from "./watch.ts";

/** Where the CLI writes. */
export interface Io {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
  /** Whether standard output is a terminal. */
  readonly isTTY: boolean;
  /** The terminal's width, when it is one. */
  readonly columns?: number;
}

/** The process's own standard output and error. */
export const stdio: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  get columns(): number | undefined {
    return process.stdout.columns; // read per frame: the window may be resized
  },
};

/** Runs the command line `argv` (without the program); resolves with the exit code. */
export async function main(
  argv: readonly string[],
  io: Io = stdio,
): Promise<number> {
  try {
    const command = parseArgs(argv);
    if (command.command === "help") {
      io.out(`${USAGE}\n`);
      return 0;
    }
    if (command.redis !== null) {
      // Loaded only now: without --redis the Redis client is never loaded
      // (and Deno needs no --allow-net).
      const { runRedis } = await import("./redis.ts");
      await runRedis({ ...command, redis: command.redis }, io);
      return 0;
    }
    await run(command, platformOrExplain(), io);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      // A URL given by mistake (e.g. without --redis) is never echoed with its password.
      io.err(`memshare: ${maskUrls(error.message)}\n`);
      return 2;
    }
    if (isPermissionError(error)) {
      // Deno reads under /dev and /proc (e.g. a --dir in /dev/shm) only with --allow-all.
      const flags = /Requires all access/.test(error.message)
        ? "--allow-all"
        : "--allow-ffi --allow-read";
      io.err(
        `memshare: Deno denied access (${error.message}); run it as: deno run ${flags} cli.ts …\n`,
      );
      return 2;
    }
    io.err(`memshare: unexpected error: ${maskUrls(describe(error))}\n`);
    return 1;
  }
}

async function run(
  command: Exclude<Command, { command: "help" }>,
  platform: Platform,
  io: Io,
): Promise<void> {
  // Without --dir a missing directory only means no lock was used yet.
  const missingOk = command.dir === null;
  const given = command.dir ?? platform.defaultDirectory();
  const dir = platform.path.isAbsolute(given)
    ? given
    : platform.path.join(platform.cwd(), given);
  const look = () => scanDirectory(dir, platform, missingOk);

  if (command.command === "status") {
    const scan = look();
    io.out(
      `${
        command.json ? JSON.stringify(toJson(scan), null, 2) : formatTable(scan)
      }\n`,
    );
    return;
  }

  look(); // A wrong directory is reported once, as an error, not drawn forever.
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.on("SIGINT", abort);
  process.on("SIGTERM", abort);
  try {
    const footer = `\nevery ${command.interval} ms; Ctrl-C to stop`;
    await watch(
      () => {
        try {
          return formatTable(look()) + footer;
        } catch (error) {
          // The directory may come back (or be fixed): keep watching.
          return `memshare: ${describe(error)}${footer}`;
        }
      },
      command.interval,
      {
        write: io.out,
        isTTY: io.isTTY,
        get columns() {
          return io.columns;
        },
      },
      stop.signal,
    );
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
}

/** The platform, or a `CliError` that says what is missing (e.g. --allow-ffi). */
function platformOrExplain(): Platform {
  try {
    return currentPlatform();
  } catch (error) {
    const message = describe(error);
    // Deno without --allow-ffi: say which flags, not how dlopen failed.
    throw new CliError(
      /NotCapable|PermissionDenied|--allow-ffi/.test(message)
        ? "Deno denied FFI; run it as: deno run --allow-ffi --allow-read cli.ts …"
        : message,
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
