/**
 * The Redis lock against its raw floor, same run, same client, on a
 * throwaway loopback `redis-server`:
 * - uncontended acquire + release vs one `SET NX PX` + one
 *   compare-and-delete script;
 * - hand-off (release in one process → acquire resolves in another) vs a
 *   raw `LPUSH` → `BLPOP` hop between two processes (both ping-pong);
 * - contended throughput of 4 processes vs a raw `SET NX` / `DEL` loop;
 * - 64 B and 64 KiB of shared bytes.
 *
 * Usage: `deno run -A bench/redis.ts` or `bun bench/redis.ts`
 * (`ROUNDS=n` to change the sample size).
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { createClient } from "@redis/client";
import { RedisShareLock } from "../redis.ts";
import { startRedis } from "../tests/redis_server.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 2000);
const SCRIPT = import.meta.filename ??
  new URL(import.meta.url).pathname;
const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
const CAD =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

function peer(args: string[]): {
  ready: Promise<void>;
  go: () => void;
  done: Promise<string>;
} {
  const argv = RUNTIME === "deno"
    ? ["run", "-A", "--no-check", SCRIPT, ...args]
    : [SCRIPT, ...args];
  const child = spawn(process.execPath, argv, {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on("data", (d) => {
    out += d;
    if (out.includes("ready")) onReady();
  });
  const done = new Promise<string>((resolve) =>
    child.on("close", () => resolve(out))
  );
  return { ready, go: () => child.stdin!.write("go\n"), done };
}

function waitGo(): Promise<void> {
  return new Promise((resolve) =>
    process.stdin.once("data", () => {
      process.stdin.pause();
      resolve();
    })
  );
}

async function peerMain(mode: string, url: string, rounds: number) {
  if (mode === "raw-pong") {
    const c = createClient({ url });
    await c.connect();
    console.log("ready");
    await waitGo();
    for (let i = 0; i < rounds; i++) {
      await c.sendCommand(["BLPOP", "ping", "0"]);
      await c.sendCommand(["LPUSH", "pong", "1"]);
    }
    await c.close();
  } else if (mode === "lock") {
    const lock = new RedisShareLock("bench", { length: 64, redis: url });
    await lock.info();
    console.log("ready");
    await waitGo();
    for (let i = 0; i < rounds; i++) {
      await lock.run((memory) => void memory[0]++);
    }
    await lock.close();
  } else if (mode === "raw-loop") {
    const c = createClient({ url });
    await c.connect();
    console.log("ready");
    await waitGo();
    const me = String(process.pid);
    for (let i = 0; i < rounds;) {
      const ok = await c.sendCommand([
        "SET",
        "rawlock",
        me,
        "NX",
        "PX",
        "10000",
      ]);
      if (ok === null) continue;
      await c.sendCommand(["DEL", "rawlock"]);
      i++;
    }
    await c.close();
  }
  console.log("done");
  process.exit(0);
}

async function main(): Promise<void> {
  const server = await startRedis();
  const url = server.url;
  const rows: [string, string, string][] = [];
  try {
    const c = createClient({ url });
    await c.connect();
    const sha = String(await c.sendCommand(["SCRIPT", "LOAD", CAD]));

    // 1. Uncontended.
    const raw: number[] = [];
    for (let i = 0; i < ROUNDS + 200; i++) {
      const t = performance.now();
      await c.sendCommand(["SET", "floor", "v", "NX", "PX", "10000"]);
      await c.sendCommand(["EVALSHA", sha, "1", "floor", "v"]);
      if (i >= 200) raw.push(performance.now() - t);
    }
    const floor = p50(raw);
    rows.push(["raw SET NX PX + compare-and-delete", us(floor), "1.00×"]);
    for (const length of [64, 65_536]) {
      const lock = new RedisShareLock(`uncontended${length}`, {
        length,
        redis: url,
      });
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS + 200; i++) {
        const t = performance.now();
        const guard = await lock.acquire();
        guard.memory[0]++;
        await guard.release();
        if (i >= 200) samples.push(performance.now() - t);
      }
      await lock.close();
      const m = p50(samples);
      rows.push([
        `RedisShareLock acquire + release, ${
          length === 64 ? "64 B" : "64 KiB"
        }`,
        us(m),
        `${(m / floor).toFixed(2)}×`,
      ]);
    }

    // 2. Hand-off, ping-pong between two processes.
    const hops = Math.min(ROUNDS, 1000);
    const pong = peer(["raw-pong", url, String(hops)]);
    await pong.ready;
    pong.go();
    const rawHop: number[] = [];
    for (let i = 0; i < hops; i++) {
      const t = performance.now();
      await c.sendCommand(["LPUSH", "ping", "1"]);
      await c.sendCommand(["BLPOP", "pong", "0"]);
      rawHop.push((performance.now() - t) / 2);
    }
    await pong.done;
    const hopFloor = p50(rawHop.slice(50));
    rows.push(["raw LPUSH → BLPOP hop (2 processes)", us(hopFloor), "1.00×"]);

    const other = peer(["lock", url, String(hops)]);
    await other.ready;
    const lock = new RedisShareLock("bench", { length: 64, redis: url });
    await lock.info();
    other.go();
    const cycles: number[] = [];
    let last = 0;
    for (let i = 0; i < hops; i++) {
      const guard = await lock.acquire();
      const now = performance.now();
      if (last !== 0) cycles.push((now - last) / 2);
      guard.memory[0]++;
      await guard.release();
      last = performance.now();
    }
    await other.done;
    await lock.close();
    const hop = p50(cycles.slice(50));
    rows.push([
      "RedisShareLock hand-off (2 processes, ping-pong)",
      us(hop),
      `${(hop / hopFloor).toFixed(2)}×`,
    ]);

    // 3. Contended: 4 processes.
    const per = Math.min(ROUNDS, 500);
    for (const mode of ["raw-loop", "lock"]) {
      const peers = [0, 1, 2, 3].map(() => peer([mode, url, String(per)]));
      await Promise.all(peers.map((p) => p.ready));
      const t = performance.now();
      for (const p of peers) p.go();
      await Promise.all(peers.map((p) => p.done));
      const rate = (4 * per) / ((performance.now() - t) / 1000);
      rows.push([
        mode === "lock"
          ? "RedisShareLock, 4 processes (FIFO)"
          : "raw SET NX / DEL loop, 4 processes",
        `${rate.toFixed(0)} /s`,
        "",
      ]);
    }
    await c.close();
  } finally {
    await server.stop();
  }
  const raw = rows.find((r) => r[0].startsWith("raw SET NX / DEL"));
  const mine = rows.find((r) => r[0].startsWith("RedisShareLock, 4"));
  if (raw && mine) {
    mine[2] = `${(parseFloat(mine[1]) / parseFloat(raw[1])).toFixed(2)}× raw`;
  }
  console.log(`\n${RUNTIME}, ${ROUNDS} rounds\n`);
  console.log("| operation | p50 / rate | ratio |\n|---|---|---|");
  for (const [a, b, r] of rows) console.log(`| ${a} | ${b} | ${r} |`);
  process.exit(0);
}

const [mode, url, rounds] = process.argv.slice(2);
if (mode !== undefined) await peerMain(mode, url, Number(rounds));
else await main();
