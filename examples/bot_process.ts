/**
 * The bot processes as the driver sees them: started under Deno (with only
 * `--allow-ffi`) or Bun, their JSON-line reports parsed as they arrive.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { DeskLock } from "./desk.ts";
import { parseEvent } from "./protocol.ts";
import type { TurnRow } from "./timeline.ts";

/** A runtime a bot can run on. */
export type RuntimeName = "deno" | "bun";

/** How a bot ended. */
export interface BotExit {
  /** Exit code, `null` when killed by a signal. */
  readonly code: number | null;
  /** The signal that killed it, if one did. */
  readonly signal: string | null;
}

/** A running bot and what it has reported so far. */
export interface BotProcess {
  /** Its name, e.g. `bot-1`. */
  readonly bot: string;
  /** The runtime running it. */
  readonly runtime: RuntimeName;
  /** The process. */
  readonly child: ChildProcess;
  /** Resolves when it has exited and its output is read. */
  readonly exited: Promise<BotExit>;
  /** Its turns so far. */
  readonly turns: TurnRow[];
  /** Whether it is waiting at the gate (or past it). */
  ready: boolean;
  /** Whether it reported finishing. */
  done: boolean;
  /** Overlaps it reported. */
  overlaps: number;
}

/** What the driver hears from a bot as it happens. */
export interface BotListener {
  /** A turn ended. */
  turn(bot: BotProcess, turn: TurnRow): void;
  /** A turn saw another owner in the shared memory. */
  overlap(bot: BotProcess, lock: DeskLock, message: string): void;
  /** A line that is not a report (stderr, stray output). */
  output(bot: BotProcess, line: string): void;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BOT_SCRIPT = join(ROOT, "examples", "bot.ts");

/** Starts `bot.ts NAME DIR SEED` on `runtime` (`binary`). */
export function startBot(
  name: string,
  runtime: RuntimeName,
  binary: string,
  dir: string,
  seed: number,
  listener: BotListener,
): BotProcess {
  const args = [BOT_SCRIPT, name, dir, String(seed)];
  const child = spawn(
    binary,
    runtime === "deno"
      ? ["run", "--quiet", "--no-prompt", "--allow-ffi", ...args]
      : args,
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<BotExit>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  );
  const bot: BotProcess = {
    bot: name,
    runtime,
    child,
    exited,
    turns: [],
    ready: false,
    done: false,
    overlaps: 0,
  };
  onLines(child.stdout!, (line) => {
    const event = parseEvent(line);
    if (event === null) return listener.output(bot, line);
    if (event.type === "ready") bot.ready = true;
    if (event.type === "done") bot.done = true;
    if (event.type === "turn") {
      const turn: TurnRow = { ...event, runtime };
      bot.turns.push(turn);
      listener.turn(bot, turn);
    }
    if (event.type === "overlap") {
      bot.overlaps++;
      listener.overlap(bot, event.lock, event.message);
    }
  });
  onLines(child.stderr!, (line) => listener.output(bot, `(stderr) ${line}`));
  return bot;
}

/** Kills `bot` if it is still running. */
export function stopBot(bot: BotProcess): void {
  if (bot.child.exitCode === null && bot.child.signalCode === null) {
    bot.child.kill("SIGKILL");
  }
}

/** The runtime binaries: the repository's own (from npm ci), else one on PATH. */
export function findRuntimes(): Record<RuntimeName, string | null> {
  const find = (name: RuntimeName) => {
    const local = join(ROOT, "node_modules", ".bin", name);
    if (existsSync(local)) return local;
    return spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0
      ? name
      : null;
  };
  return { deno: find("deno"), bun: find("bun") };
}

/** Calls `fn` with each line of `stream`. */
function onLines(stream: Readable, fn: (line: string) => void): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    for (let at = pending.indexOf("\n"); at >= 0; at = pending.indexOf("\n")) {
      fn(pending.slice(0, at));
      pending = pending.slice(at + 1);
    }
  });
  stream.on("end", () => {
    if (pending !== "") fn(pending);
  });
}
