/**
 * The desktop-automation demo: a few bot processes — Deno and Bun — take
 * turns at window focus, the mouse and the clipboard through memshare
 * locks, passing state (the front window, a click counter, the clipboard
 * text) through the shared memory. This driver starts them, prints a
 * timeline of their turns, and checks that no two holders ever overlapped.
 *
 * ```sh
 * npm start   # or:
 * deno run --allow-ffi --allow-run --allow-read --allow-write --allow-env examples/demo.ts [--seconds 8] [--svg PATH]
 * bun examples/demo.ts
 * ```
 *
 * At the end it also draws the timeline as an SVG Gantt chart (gantt.ts) —
 * a row per bot, a bar per turn at a lock, waits in grey — to `--svg PATH`
 * (default: memshare-demo-timeline.svg in the OS temporary directory,
 * replaced by every run) and prints its path last.
 *
 * Exits 1 if any turn overlapped another, an update was lost, or a bot
 * failed. Removes its temporary directory and stops its bots on every exit.
 *
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { currentPlatform } from "../src/ffi/current.ts";
import { formatTable } from "../src/cli/format.ts";
import { scanDirectory } from "../src/cli/scan.ts";
import {
  type BotExit,
  type BotListener,
  type BotProcess,
  findRuntimes,
  type RuntimeName,
  startBot,
  stopBot,
} from "./bot_process.ts";
import { checkFinalState, readFinalState } from "./final_state.ts";
import { openGate, writeSchedule } from "./gate.ts";
import { now } from "./protocol.ts";
import { botTable, turnsPerLock } from "./summary.ts";
import { Timeline, timelineHeading, turnLine } from "./timeline.ts";

/** Bots by runtime, alternating, so both runtimes contend for every lock. */
const LINEUP: readonly RuntimeName[] = ["deno", "bun", "deno", "bun"];
/** Everything, startup included, must be over by then, or the demo fails (and cleans up). */
const HARD_LIMIT_MS = 50_000;
const deadline = Date.now() + HARD_LIMIT_MS;

const print = (text = "") => console.log(text);

/** Runs the demo; resolves with the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const seconds = secondsFrom(argv);
  const svgAt = argv.indexOf("--svg");
  const svgPath = svgAt >= 0 && argv[svgAt + 1] !== undefined
    ? resolve(argv[svgAt + 1])
    : join(tmpdir(), "memshare-demo-timeline.svg");
  const dir = makeTempDir();
  const bots: BotProcess[] = [];
  const cleanUp = () => {
    for (const bot of bots) stopBot(bot);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => {
    cleanUp();
    print(`\ninterrupted: bots stopped, ${dir} removed`);
    process.exit(130);
  });
  let t0 = 0;
  let code = 1;
  try {
    code = await runDemo(dir, seconds, bots, (start) => (t0 = start));
  } finally {
    cleanUp();
    print(`(removed ${dir})`);
  }
  if (t0 > 0) await drawTimeline(bots, t0, seconds, svgPath);
  return code;
}

/** Writes the turns as an SVG Gantt chart to `path` and prints where it is. */
async function drawTimeline(
  bots: readonly BotProcess[],
  t0: number,
  seconds: number,
  path: string,
): Promise<void> {
  try {
    // Loaded only now: vega is a dev dependency (npm ci), and loading it
    // takes a moment the bots should not share.
    const { ganttSvg } = await import("./gantt.ts");
    const overlaps = bots.reduce((n, bot) => n + bot.overlaps, 0);
    writeFileSync(path, await ganttSvg(bots, t0, seconds, overlaps));
    print(`timeline chart (open it in a browser): ${path}`);
  } catch (error) {
    print(
      `(no timeline chart: ${error instanceof Error ? error.message : error})`,
    );
  }
}

/** Starts the bots behind the gate, opens it, prints their turns, then the report. */
async function runDemo(
  dir: string,
  seconds: number,
  bots: BotProcess[],
  started: (t0: number) => void,
): Promise<number> {
  const binaries = findRuntimes();
  const runtimeFor = (wanted: RuntimeName): RuntimeName =>
    binaries[wanted] !== null ? wanted : wanted === "deno" ? "bun" : "deno";
  if (binaries.deno === null && binaries.bun === null) {
    throw new Error("neither deno nor bun was found (run npm ci)");
  }
  print(
    `memshare demo: ${LINEUP.length} desktop-automation bots share window focus, the mouse and the clipboard for ${seconds} s`,
  );
  print(`locks and shared memory in ${dir}`);
  print(
    "one line per turn at a lock: when it was taken, by whom, how long acquire() waited, how long it was held, what was done",
  );
  for (const runtime of ["deno", "bun"] as const) {
    if (binaries[runtime] === null) {
      print(`(${runtime} not found: its bots run on ${runtimeFor(runtime)})`);
    }
  }
  print();

  // Hold the gate while the bots start, so they all begin together.
  const gate = openGate(dir);
  const gateGuard = await gate.acquire();
  const timeline = new Timeline(print);
  let t0 = 0;
  const listener: BotListener = {
    turn: (_, turn) => timeline.add(turn.at, turnLine(turn, t0)),
    overlap: (bot, lock, message) =>
      timeline.add(now(), `  !! ${bot.bot} ${lock}: OVERLAP: ${message}`),
    output: (bot, line) => print(`  ${bot.bot}: ${line}`),
  };
  LINEUP.forEach((wanted, i) => {
    const runtime = runtimeFor(wanted);
    const name = `bot-${i + 1}`;
    bots.push(
      startBot(name, runtime, binaries[runtime]!, dir, i + 1, listener),
    );
  });
  await until(() => bots.every((bot) => bot.ready), () => {
    const gone = bots.find((bot) => bot.child.exitCode !== null);
    return gone === undefined ? null : `${gone.bot} exited before it was ready`;
  });

  t0 = now() + 50;
  started(t0);
  writeSchedule(gateGuard.memory, { start: t0, stop: t0 + seconds * 1000 });
  await gateGuard.release();
  await gate.close();
  print(
    `all bots ready: ${
      bots.map((bot) => `${bot.bot} (${bot.runtime}, pid ${bot.child.pid})`)
        .join(", ")
    }`,
  );
  print();
  print(timelineHeading());

  const ticker = setInterval(() => timeline.flush(now()), 100);
  const snapshot = setTimeout(() => {
    const { at, text } = statusSnapshot(dir, t0);
    timeline.add(at, text);
  }, seconds * 500);
  const exits = await allExited(bots);
  clearInterval(ticker);
  clearTimeout(snapshot);
  timeline.flush(now(), true);
  if (exits === null) {
    print(`\nthe bots did not finish within ${HARD_LIMIT_MS / 1000} s`);
    return 1;
  }
  return await report(dir, bots, exits, seconds);
}

/** Prints the summary and the checks; resolves with the exit code. */
async function report(
  dir: string,
  bots: readonly BotProcess[],
  exits: readonly BotExit[],
  seconds: number,
): Promise<number> {
  const problems: string[] = [];
  bots.forEach((bot, i) => {
    const { code, signal } = exits[i];
    if (code !== 0 || !bot.done) {
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      problems.push(`${bot.bot} ${how}${bot.done ? "" : " before finishing"}`);
    }
  });
  const overlaps = bots.reduce((n, bot) => n + bot.overlaps, 0);
  const total = bots.reduce((n, bot) => n + bot.turns.length, 0);
  const checked = checkFinalState(
    await readFinalState(dir),
    turnsPerLock(bots),
  );
  problems.push(...checked.problems);

  print();
  print(`summary: ${bots.length} bots, ${seconds} s, ${total} turns`);
  print(botTable(bots));
  print();
  print("shared memory at the end (read under each lock):");
  for (const line of checked.lines) print(line);
  print();
  print(
    `overlaps: ${overlaps}${
      overlaps === 0
        ? "  (every turn found the owner word free on entry and still its own at exit)"
        : "  ✗"
    }`,
  );
  for (const problem of problems) print(`problem: ${problem}`);
  return overlaps === 0 && problems.length === 0 ? 0 : 1;
}

/**
 * What `cli.ts status` prints now, indented, as a timeline entry. Looks a
 * few times for a moment when a lock is held — looking is only reading
 * headers, so it cannot disturb the bots.
 */
function statusSnapshot(
  dir: string,
  t0: number,
): { at: number; text: string } {
  const platform = currentPlatform();
  let scan = scanDirectory(dir, platform);
  for (let i = 0; i < 50 && !scan.locks.some((lock) => lock.locked); i++) {
    platform.sleep(2);
    scan = scanDirectory(dir, platform);
  }
  const at = ((scan.at - t0) / 1000).toFixed(3);
  const table = formatTable(scan).split("\n").map((line) => `  ${line}`)
    .join("\n");
  const text =
    `\n  -- at ${at}s, \`cli.ts status --dir …\` (reads headers with pread, takes no lock):\n${table}\n`;
  return { at: scan.at, text };
}

/** Every bot's exit, or `null` if the deadline came first. */
async function allExited(
  bots: readonly BotProcess[],
): Promise<BotExit[] | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), deadline - Date.now());
  });
  try {
    return await Promise.race([Promise.all(bots.map((b) => b.exited)), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `done()`; rejects at the deadline or when `failed()` names a reason. */
async function until(
  done: () => boolean,
  failed: () => string | null,
): Promise<void> {
  while (!done()) {
    const reason = failed();
    if (reason !== null) throw new Error(reason);
    if (Date.now() > deadline) {
      throw new Error(`the bots were not ready within ${HARD_LIMIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fresh private directory for the demo's locks. */
function makeTempDir(): string {
  try {
    return mkdtempSync(join(tmpdir(), "memshare-demo-"));
  } catch (error) {
    if (error instanceof Error && error.name === "NotCapable") {
      throw new Error(
        "the demo makes (and removes) a temporary directory: run it with deno run --allow-ffi --allow-run --allow-read --allow-write --allow-env examples/demo.ts",
      );
    }
    throw error;
  }
}

function secondsFrom(argv: readonly string[]): number {
  const at = argv.indexOf("--seconds");
  const seconds = at < 0 ? 8 : Number(argv[at + 1]);
  if (!(seconds > 0 && seconds <= 30)) {
    throw new Error("--seconds must be more than 0 and at most 30");
  }
  return seconds;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(
      `demo failed: ${error instanceof Error ? error.message : error}`,
    );
    process.exitCode = 1;
  }
}
