/**
 * Real desktop automation: three bot processes — two on Bun, one on Deno —
 * drive the pointer of a real X display (X11, XWayland or Xvfb) through
 * FFI to libX11/libXtst. Each drags the pointer along its own path (a
 * square, a circle, a triangle, each in its own third of the screen) while
 * holding the `mouse` lock, and reads the pointer back after every step.
 * Then the same run again with the lock switched off — the control — where
 * the drags interleave and the bots find the pointer where another bot put
 * it.
 *
 * ```sh
 * # on a desktop session (DISPLAY set); hands off the mouse for ~3 s:
 * deno run --allow-ffi --allow-run --allow-read --allow-write --allow-env examples/x11/desktop.ts
 * bun examples/x11/desktop.ts
 * # headless:
 * xvfb-run -a -s "-screen 0 1280x800x24" bun examples/x11/desktop.ts
 * ```
 *
 * Options: `--mode both|lock|nolock` (default both), `--display :N`
 * (default `$DISPLAY`), `--svg PATH` (where the picture of the paths goes;
 * default memshare-desktop.svg in the temporary directory), `--json`
 * (last line: the whole result as JSON).
 *
 * Exits 1 if a bot failed or a drag was disturbed while it held the lock.
 * The pointer is put back where it was.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { findRuntimes, type RuntimeName } from "../bot_process.ts";
import { openGate, writeSchedule } from "../gate.ts";
import { now } from "../protocol.ts";
import { type BotResult, disturbed, type Shape } from "./paths.ts";
import { pathsSvg } from "./svg.ts";
import { XDisplay } from "./xlib.ts";

/** Who drags what: two Bun bots and one Deno bot. */
const LINEUP: readonly { runtime: RuntimeName; shape: Shape }[] = [
  { runtime: "bun", shape: "square" },
  { runtime: "bun", shape: "circle" },
  { runtime: "deno", shape: "triangle" },
];
const BOT_SCRIPT = fileURLToPath(new URL("pointer_bot.ts", import.meta.url));
/** How long bots may take to start and connect. */
const READY_MS = 30_000;
/** How long a run may take once started. */
const RUN_MS = 60_000;

/** One bot's tally. */
export interface BotTally {
  /** `bot-1` ... */
  readonly bot: string;
  /** Its runtime. */
  readonly runtime: string;
  /** Its shape. */
  readonly shape: string;
  /** Drags done. */
  readonly drags: number;
  /** Steps done (each one read back). */
  readonly steps: number;
  /** Read-backs that found the pointer elsewhere. */
  readonly disturbedSteps: number;
  /** Drags with at least one such read-back. */
  readonly disturbedDrags: number;
}

/** One run's result. */
export interface RunSummary {
  /** `lock`, or `nolock` (the control). */
  readonly mode: "lock" | "nolock";
  /** Per bot. */
  readonly bots: BotTally[];
  /** Steps in all. */
  readonly steps: number;
  /** Read-backs in all that found the pointer elsewhere. */
  readonly disturbedSteps: number;
  /** Drags in all with such a read-back. */
  readonly disturbedDrags: number;
  /** Pairs of drags by different bots that overlapped in time. */
  readonly overlappingDrags: number;
  /** From the first step to the last read-back, ms. */
  readonly ms: number;
}

const children = new Set<ChildProcess>();
const print = (text = "") => console.log(text);

async function main(argv: readonly string[]): Promise<number> {
  const option = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const mode = option("--mode") ?? "both";
  if (!["both", "lock", "nolock"].includes(mode)) {
    throw new Error("--mode is both, lock or nolock");
  }
  const displayName = option("--display") ?? process.env.DISPLAY;
  if (!displayName) {
    throw new Error(
      "no X display: run it on a desktop session (DISPLAY set), or under xvfb-run",
    );
  }
  const svgPath = resolve(
    option("--svg") ?? join(tmpdir(), "memshare-desktop.svg"),
  );
  const binaries = findRuntimes();
  if (binaries.deno === null && binaries.bun === null) {
    throw new Error("neither deno nor bun was found (run npm ci)");
  }

  // The driver's own connection: the screen size, where the pointer was
  // (to put it back), and it keeps Xvfb from resetting between runs.
  const display = new XDisplay(displayName);
  const home = display.pointer();
  const screen = { width: display.width, height: display.height };
  print(
    `memshare desktop example: ${LINEUP.length} bots drag the pointer of X display ${displayName} (${screen.width}x${screen.height})`,
  );

  const runs: { mode: "lock" | "nolock"; results: BotResult[] }[] = [];
  const summaries: RunSummary[] = [];
  try {
    for (const m of mode === "both" ? ["lock", "nolock"] as const : [mode]) {
      const results = await runBots(
        m as "lock" | "nolock",
        displayName,
        screen,
        binaries,
      );
      runs.push({ mode: m as "lock" | "nolock", results });
      const summary = summarize(m as "lock" | "nolock", results);
      summaries.push(summary);
      printSummary(summary);
    }
  } finally {
    display.moveTo(home);
    display.close();
  }

  writeFileSync(
    svgPath,
    pathsSvg({ ...screen, display: displayName }, runs),
  );
  print(`pointer paths: ${svgPath}`);
  if (argv.includes("--json")) {
    print(
      JSON.stringify({
        display: displayName,
        ...screen,
        summaries,
        svg: svgPath,
      }),
    );
  }
  const locked = summaries.find((s) => s.mode === "lock");
  return locked !== undefined && locked.disturbedSteps > 0 ? 1 : 0;
}

/** One run: the bots behind the starting gate, then all at once; their results. */
async function runBots(
  mode: "lock" | "nolock",
  displayName: string,
  screen: { width: number; height: number },
  binaries: Record<RuntimeName, string | null>,
): Promise<BotResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "memshare-desktop-"));
  const gate = openGate(dir);
  const gateGuard = await gate.acquire();
  const bots: Bot[] = [];
  try {
    const third = screen.width / LINEUP.length;
    const radius = Math.floor(Math.min(third, screen.height) * 0.38);
    LINEUP.forEach(({ runtime, shape }, i) => {
      const found = binaries[runtime] !== null
        ? runtime
        : runtime === "deno"
        ? "bun"
        : "deno";
      bots.push(
        startBot(found, binaries[found]!, [
          `bot-${i + 1}`,
          dir,
          mode,
          displayName,
          shape,
          String(Math.round(third * (i + 0.5))),
          String(Math.round(screen.height / 2)),
          String(radius),
        ]),
      );
    });
    await within(
      READY_MS,
      Promise.all(bots.map((bot) => bot.ready)),
      "bots to connect",
    );
    writeSchedule(gateGuard.memory, { start: now() + 50, stop: 0 });
    await gateGuard.release();
    await within(
      RUN_MS,
      Promise.all(bots.map((bot) => bot.result)),
      "bots to finish",
    );
    return await Promise.all(bots.map((bot) => bot.result));
  } finally {
    await gateGuard.release();
    await gate.close();
    for (const bot of bots) {
      if (bot.child.exitCode === null) bot.child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Bot {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<BotResult>;
}

/** Starts a bot; `ready` and `result` resolve from its output (reject if it exits first). */
function startBot(runtime: RuntimeName, binary: string, args: string[]): Bot {
  const child = spawn(
    binary,
    runtime === "deno"
      ? ["run", "--quiet", "--no-prompt", "--allow-ffi", BOT_SCRIPT, ...args]
      : [BOT_SCRIPT, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      children.delete(child);
      resolve(code);
    })
  );
  const failed = async (what: string) => {
    const code = await exited;
    throw new Error(
      `${args[0]} (${runtime}) exited ${code} ${what}: ${
        err.trim() || out.trim()
      }`,
    );
  };
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", () => {
      if (out.includes('"ready"')) resolve();
    });
    failed("before it was ready").catch(reject);
  });
  const result = exited.then((code) => {
    const line = out.trim().split("\n").find((l) => l.includes('"result"'));
    if (code !== 0 || line === undefined) return failed("without a result");
    return JSON.parse(line) as BotResult;
  });
  ready.catch(() => {});
  result.catch(() => {});
  return { child, ready, result };
}

/** What `results` add up to. */
export function summarize(
  mode: "lock" | "nolock",
  results: readonly BotResult[],
): RunSummary {
  const bots = results.map((r): BotTally => {
    const steps = r.drags.flatMap((d) => d.steps);
    return {
      bot: r.bot,
      runtime: r.runtime,
      shape: r.shape,
      drags: r.drags.length,
      steps: steps.length,
      disturbedSteps: steps.filter(disturbed).length,
      disturbedDrags: r.drags.filter((d) => d.steps.some(disturbed)).length,
    };
  });
  let overlappingDrags = 0;
  results.forEach((a, i) =>
    results.slice(i + 1).forEach((b) => {
      for (const x of a.drags) {
        for (const y of b.drags) {
          if (x.start < y.end && y.start < x.end) overlappingDrags++;
        }
      }
    })
  );
  const drags = results.flatMap((r) => r.drags);
  const sum = (f: (t: BotTally) => number) =>
    bots.reduce((n, t) => n + f(t), 0);
  return {
    mode,
    bots,
    steps: sum((t) => t.steps),
    disturbedSteps: sum((t) => t.disturbedSteps),
    disturbedDrags: sum((t) => t.disturbedDrags),
    overlappingDrags,
    ms: Math.round(
      Math.max(...drags.map((d) => d.end)) -
        Math.min(...drags.map((d) => d.start)),
    ),
  };
}

function printSummary(s: RunSummary): void {
  print();
  print(
    s.mode === "lock"
      ? "with the mouse lock:"
      : "control, the lock switched off:",
  );
  for (const b of s.bots) {
    print(
      `  ${b.bot}  ${b.runtime.padEnd(4)}  ${
        b.shape.padEnd(8)
      }  ${b.drags} drags, ${b.steps} steps: ${b.disturbedSteps} read-backs found the pointer elsewhere (${b.disturbedDrags} drags disturbed)`,
    );
  }
  print(
    `  in ${s.ms} ms: ${s.overlappingDrags} pairs of drags overlapped in time; ${s.disturbedSteps} of ${s.steps} read-backs found the pointer elsewhere`,
  );
}

async function within<T>(ms: number, promise: Promise<T>, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.main) {
  process.on("SIGINT", () => {
    for (const child of children) child.kill("SIGKILL");
    process.exit(130);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      for (const child of children) child.kill("SIGKILL");
      console.error(`desktop example: ${(error as Error).message}`);
      process.exit(2);
    },
  );
}
