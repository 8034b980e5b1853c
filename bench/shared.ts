/**
 * Readers (shared holds) against the exclusive lock, in one run of one
 * runtime:
 * - the uncontended pair: `acquireSharedSync()` + `releaseSync()` and the
 *   async `acquireShared()` + `release()` against the exclusive pairs,
 *   interleaved batches;
 * - readers scaling: total shared pairs per second with 1, 2 and 4 reader
 *   processes looping at once, against one process's exclusive pairs, and
 *   the same for a raw FFI `flock(LOCK_SH)` + `flock(LOCK_UN)` loop on the
 *   lock file (what the kernel alone lets readers reach on this machine);
 * - a writer's wait while 4 readers loop: how long `acquire()` takes.
 *
 * Usage: `node_modules/.bin/deno run -A bench/shared.ts [--seconds=1]` or
 * `node_modules/.bin/bun bench/shared.ts`; child mode: `--loop=MODE DIR SECONDS`.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { MemoryShareLock } from "../mod.ts";
import { libc, LOCK_UN, openFd } from "./libc.ts";
import {
  benchScript,
  progress,
  RUNTIME,
  scriptCommand,
  tempDir,
} from "./proc.ts";
import { interleavedBatches, quantile } from "./stats.ts";

const LENGTH = 16;
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) =>
  Number(
    argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback,
  );

const LOCK_SH = 1;

/** Child mode `raw`: shared flock pairs on the lock file, straight through FFI. */
async function rawLoop(dir: string, seconds: number): Promise<void> {
  const fd = openFd(`${dir}/shared.lock`);
  const end = performance.now() + seconds * 1000;
  let pairs = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      if (libc.flock(fd, LOCK_SH) !== 0) throw new Error("flock(LOCK_SH)");
      libc.flock(fd, LOCK_UN);
    }
    pairs += 256;
    if ((pairs & 0x3fff) === 0) await new Promise((r) => setTimeout(r, 0));
  }
  libc.close(fd);
  console.log(String(pairs));
}

/** Child mode: loop pairs for `seconds`, print how many. */
async function loop(mode: string, dir: string, seconds: number): Promise<void> {
  if (mode === "raw") return await rawLoop(dir, seconds);
  const lock = new MemoryShareLock("shared", { length: LENGTH, dir });
  const end = performance.now() + seconds * 1000;
  let pairs = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      const guard = mode === "shared"
        ? lock.acquireSharedSync()
        : lock.acquireSync();
      guard.releaseSync();
    }
    pairs += 256;
    // Let the event loop breathe so a parent's kill is seen.
    if ((pairs & 0x3fff) === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await lock.close();
  console.log(String(pairs));
}

/** Runs `n` children looping `mode` at once; resolves with their pair counts. */
function children(
  n: number,
  mode: string,
  dir: string,
  seconds: number,
): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const [command, args] = scriptCommand(benchScript("shared.ts"), [
        `--loop=${mode}`,
        dir,
        String(seconds),
      ]);
      const child = spawn(command, args, {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      return new Promise<number>((resolve, reject) => {
        child.on(
          "exit",
          (code) =>
            code === 0
              ? resolve(Number(out.trim()))
              : reject(new Error(`loop child exited ${code}`)),
        );
      });
    }),
  );
}

const loopArg = argv.find((a) => a.startsWith("--loop="));
if (loopArg !== undefined) {
  const rest = argv.filter((a) => !a.startsWith("--"));
  await loop(loopArg.split("=")[1], rest[0], Number(rest[1]));
} else {
  const seconds = flag("seconds", 1);
  const dir = tempDir();
  const lock = new MemoryShareLock("shared", { length: LENGTH, dir: dir.path });
  try {
    progress("uncontended pairs, interleaved batches");
    const { samples } = await interleavedBatches([
      {
        name: "exclusive sync",
        run: (n) => {
          for (let i = 0; i < n; i++) lock.acquireSync().releaseSync();
        },
      },
      {
        name: "shared sync",
        run: (n) => {
          for (let i = 0; i < n; i++) lock.acquireSharedSync().releaseSync();
        },
      },
      {
        name: "exclusive async",
        run: async (n) => {
          for (let i = 0; i < n; i++) await (await lock.acquire()).release();
        },
      },
      {
        name: "shared async",
        run: async (n) => {
          for (let i = 0; i < n; i++) {
            await (await lock.acquireShared()).release();
          }
        },
      },
    ], { batches: 30, maxPerBatch: 20_000, targetBatchMs: 40 });
    const med = (name: string) => quantile(samples.get(name)!, 0.5);
    const rows: string[][] = [];
    for (const kind of ["sync", "async"]) {
      const ex = med(`exclusive ${kind}`);
      const sh = med(`shared ${kind}`);
      rows.push([
        `shared pair, ${kind}`,
        `${(sh / 1000).toFixed(2)} µs`,
        `exclusive pair ${(ex / 1000).toFixed(2)} µs`,
        `${(sh / ex).toFixed(2)}×`,
        "≤ 1.5×",
      ]);
    }

    progress(`readers scaling, ${seconds} s per step`);
    const [exclusive] = await children(1, "exclusive", dir.path, seconds);
    const scale: number[] = [];
    for (const n of [1, 2, 4]) {
      const counts = await children(n, "shared", dir.path, seconds);
      scale.push(counts.reduce((a, b) => a + b, 0));
    }
    const raw: number[] = [];
    for (const n of [1, 2, 4]) {
      const counts = await children(n, "raw", dir.path, seconds);
      raw.push(counts.reduce((a, b) => a + b, 0));
    }
    const perSecond = (pairs: number) => pairs / seconds;
    for (const [i, n] of [1, 2, 4].entries()) {
      rows.push([
        `${n} reader process${n > 1 ? "es" : ""}, pairs/s in all`,
        `${(perSecond(scale[i]) / 1e3).toFixed(0)} k/s`,
        `1 process's exclusive pairs ${
          (perSecond(exclusive) / 1e3).toFixed(0)
        } k/s`,
        `${(scale[i] / exclusive).toFixed(2)}×`,
        n === 4 ? `≥ 2× of 1 reader: ${(scale[2] / scale[0]).toFixed(2)}×` : "",
      ]);
    }
    for (const [i, n] of [1, 2, 4].entries()) {
      rows.push([
        `raw FFI flock(SH)+flock(UN), ${n} process${n > 1 ? "es" : ""}`,
        `${(perSecond(raw[i]) / 1e3).toFixed(0)} k/s`,
        `1 raw process ${(perSecond(raw[0]) / 1e3).toFixed(0)} k/s`,
        `${(raw[i] / raw[0]).toFixed(2)}×`,
        n === 4 ? "the kernel's own scaling here" : "",
      ]);
    }

    progress("a writer's wait while 4 readers loop");
    const readers = children(4, "shared", dir.path, seconds + 1);
    await new Promise((r) => setTimeout(r, 300));
    const waits: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end && waits.length < 200) {
      const start = performance.now();
      const guard = await lock.acquire({ timeout: 10_000 });
      waits.push(performance.now() - start);
      await guard.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    await readers;
    rows.push([
      "a writer's acquire() while 4 readers loop",
      `p50 ${(quantile(waits, 0.5) * 1000).toFixed(0)} µs`,
      `p90 ${(quantile(waits, 0.9) * 1000).toFixed(0)} µs, max ${
        (Math.max(...waits) * 1000).toFixed(0)
      } µs`,
      `${waits.length} acquires`,
      "",
    ]);

    console.log(`\n### Readers — ${RUNTIME}\n`);
    console.log("| what | median | baseline (same run) | ratio | target |");
    console.log("|---|---|---|---|---|");
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    await lock.close();
    dir.remove();
  }
}
