/**
 * Hand-off latency between two processes: this process holds the lock,
 * the peer is told to acquire (and is left 5 ms to start waiting), then
 * this process releases; the hand-off is the time from just before the
 * release to the peer's acquire resolving (clocks: `performance.timeOrigin
 * + performance.now()`, one machine). The raw floor is one `LPUSH` to a
 * key the peer `BLPOP`s. memshare against `redis-semaphore` and
 * `@sesamecare-oss/redlock` at their default retry timing.
 *
 * Usage: `deno run -A bench/redis_handoff.ts` or `bun bench/redis_handoff.ts`
 * (`--save=FILE` also writes the rows as JSON, for `bench/redis_charts.ts`;
 * `HANDOFF_SCALE=0.2` runs a fifth of the rounds, for a smoke test).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import process from "node:process";
import { createClient } from "@redis/client";
import { startRedis } from "../tests/redis_server.ts";
import { type LockerKind, makeLocker } from "./redis_lockers.ts";
import { type RedisRow, saveResults, saveTarget } from "./redis_rows.ts";

const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
const SCRIPT = import.meta.filename ?? new URL(import.meta.url).pathname;
const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Multiplies every locker's round count (at least 10 rounds each). */
const SCALE = Number(process.env.HANDOFF_SCALE ?? 1);

/** The peer: reads `acquire` / `release` lines, answers `acq WALLTIME` / `rel`. */
async function peer(kind: LockerKind | "lpush", url: string): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  if (kind === "lpush") {
    const c = createClient({ url });
    await c.connect();
    console.log("ready");
    for await (const line of lines) {
      if (line === "quit") break;
      await c.sendCommand(["BLPOP", "handoff", "0"]);
      console.log(`acq ${wall()}`);
    }
    await c.close();
    process.exit(0);
  }
  const locker = await makeLocker(kind, url, "handoff");
  console.log("ready");
  let release: (() => Promise<void>) | null = null;
  for await (const line of lines) {
    if (line === "acquire") {
      release = await locker.acquire();
      console.log(`acq ${wall()}`);
    } else if (line === "release") {
      await release!();
      console.log("rel");
    } else break;
  }
  await locker.close();
  process.exit(0);
}

function startPeer(kind: string, url: string) {
  const argv = RUNTIME === "deno"
    ? ["run", "-A", "--no-check", SCRIPT, kind, url]
    : [SCRIPT, kind, url];
  const child = spawn(process.execPath, argv, {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return {
    next: (): Promise<string> =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve) => waiters.push(resolve)),
    send: (line: string) => child.stdin!.write(`${line}\n`),
    done: new Promise((resolve) => child.on("close", resolve)),
  };
}

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function measure(
  kind: LockerKind | "lpush",
  url: string,
  rounds: number,
): Promise<number> {
  const other = startPeer(kind, url);
  if ((await other.next()) !== "ready") throw new Error("peer failed");
  const samples: number[] = [];
  if (kind === "lpush") {
    const c = createClient({ url });
    await c.connect();
    for (let i = 0; i < rounds; i++) {
      other.send("wait");
      await sleep(5);
      const t0 = wall();
      await c.sendCommand(["LPUSH", "handoff", "1"]);
      const line = await other.next();
      samples.push(Number(line.split(" ")[1]) - t0);
    }
    await c.close();
  } else {
    const locker = await makeLocker(kind, url, "handoff");
    for (let i = 0; i < rounds; i++) {
      const release = await locker.acquire();
      other.send("acquire");
      await sleep(5);
      const t0 = wall();
      await release();
      const line = await other.next();
      samples.push(Number(line.split(" ")[1]) - t0);
      other.send("release");
      await other.next();
    }
    await locker.close();
  }
  other.send("quit");
  await other.done;
  return p50(samples.slice(Math.floor(samples.length / 10)));
}

async function main(save: string | undefined): Promise<void> {
  const server = await startRedis();
  const results: [string, number][] = [];
  try {
    const plan: [LockerKind | "lpush", number][] = [
      ["lpush", 300],
      ["memshare", 300],
      ["redis-semaphore", 100],
      ["redlock", 40],
    ];
    for (const [kind, rounds] of plan) {
      const scaled = Math.max(10, Math.round(rounds * SCALE));
      results.push([kind, await measure(kind, server.url, scaled)]);
    }
  } finally {
    await server.stop();
  }
  const floor = results[0][1];
  console.log(`\n${RUNTIME}: hand-off p50 between two processes\n`);
  console.log("| lock | hand-off p50 | × raw LPUSH→BLPOP |\n|---|---|---|");
  for (const [kind, ms] of results) {
    const label = kind === "lpush" ? "raw LPUSH → BLPOP" : kind;
    const shown = ms < 1
      ? `${(ms * 1000).toFixed(0)} µs`
      : `${ms.toFixed(1)} ms`;
    console.log(`| ${label} | ${shown} | ${(ms / floor).toFixed(1)}× |`);
  }
  if (save !== undefined) {
    const rows: RedisRow[] = results.map(([kind, ms]) => ({
      section: "hand-off",
      operation: kind === "lpush" ? "raw LPUSH → BLPOP" : kind,
      runtime: RUNTIME,
      kind: kind === "lpush" ? "LPUSH→BLPOP" : kind,
      value: ms * 1000,
      unit: "µs",
      ratio: ms / floor,
    }));
    const env: Record<string, number> = SCALE === 1
      ? {}
      : { HANDOFF_SCALE: SCALE };
    saveResults(save, "bench/redis_handoff.ts", RUNTIME, env, rows);
  }
  process.exit(0);
}

const save = saveTarget(process.argv);
const [mode, url] = process.argv.slice(2).filter((a) =>
  !a.startsWith("--save=")
);
if (mode !== undefined) await peer(mode as LockerKind | "lpush", url);
else await main(save);
