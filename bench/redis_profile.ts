/**
 * Where an uncontended `RedisShareLock` acquire + release spends its time,
 * piece by piece, in one process, the pieces interleaved in chunks (a noisy
 * moment of the machine hits all of them alike), on a throwaway loopback
 * `redis-server` started here (free port, temp dir) and stopped at the end:
 * - `raw`: the floor, one `SET NX PX` + one compare-and-delete `EVALSHA`
 *   from a plain `@redis/client` connection;
 * - `scripts, plain client`: memshare's acquire and release scripts by
 *   `EVALSHA` from that same plain connection (the server's script cost);
 * - `scripts, hub`: the same two through the engine's `RedisHub.run`
 *   (binary replies, per-command timeout, argument mapping);
 * - `memshare`: the whole `lock.acquire()` + `guard.release()`;
 * - with `BASE=dir` (a copy of an earlier tree inside this checkout, e.g.
 *   `.cache/base`), also `base memshare`: that tree's lock, for A/B runs.
 * Then the server's side: `CONFIG RESETSTAT`, a bounded run of each piece
 * alone, and `INFO commandstats`: commands per pair and µs per script call.
 *
 * Usage: `deno run -A bench/redis_profile.ts` or `bun bench/redis_profile.ts`
 * (`ROUNDS=n` samples per piece, default 3000; `BASE=.cache/base`).
 *
 * @module
 */

import { createClient } from "@redis/client";
import process from "node:process";
import { startRedis } from "../tests/redis_server.ts";
import { RedisShareLock } from "../redis.ts";
import { RedisHub } from "../src/engine/redis/connection.ts";
import { lockKeys, SCRIPTS } from "../src/engine/redis/scripts.ts";
import { parseRedisUrl } from "../src/engine/redis/url.ts";

const ROUNDS = Math.min(Number(process.env.ROUNDS ?? 3000), 100_000);
const BASE = process.env.BASE;
const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
const CAD =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/** Stop sampling after this long, whatever ROUNDS says. */
const BUDGET_MS = 120_000;

type Pair = () => Promise<void>;

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) * q)];
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)}`;

async function pieces(url: string): Promise<{
  pairs: [string, Pair][];
  close: () => Promise<void>;
}> {
  const c = createClient({ url });
  await c.connect();
  const cad = String(await c.sendCommand(["SCRIPT", "LOAD", CAD]));
  for (const s of [SCRIPTS.acquire, SCRIPTS.release]) {
    await c.sendCommand(["SCRIPT", "LOAD", s.source]);
  }
  const me = crypto.randomUUID();
  const raw: Pair = async () => {
    while (
      await c.sendCommand(["SET", "raw:p", me, "NX", "PX", "10000"]) === null
    );
    await c.sendCommand(["EVALSHA", cad, "1", "raw:p", me]);
  };

  const bytes = new Uint8Array(64);
  const acquireArgs = (keys: readonly string[], mbp: string, id: string) => [
    String(keys.length),
    ...keys,
    mbp,
    id,
    "10000",
    "3000",
    "host",
    String(process.pid),
    "tag",
    "0",
  ];
  let seq = 0;
  const plainKeys = lockKeys("profile-plain");
  const plain: Pair = async () => {
    const id = `plain.${++seq}`;
    const reply = await c.sendCommand([
      "EVALSHA",
      SCRIPTS.acquire.sha,
      ...acquireArgs(plainKeys.keys, plainKeys.mailboxPrefix, id),
    ]) as unknown[];
    await c.sendCommand([
      "EVALSHA",
      SCRIPTS.release.sha,
      String(plainKeys.keys.length),
      ...plainKeys.keys,
      plainKeys.mailboxPrefix,
      id,
      String(reply[1]),
      "x".repeat(64),
    ]);
  };

  const hub = RedisHub.use(parseRedisUrl(url));
  await hub.ready();
  const hubKeys = lockKeys("profile-hub");
  const viaHub: Pair = async () => {
    const id = `hub.${++seq}`;
    const reply = await hub.run(SCRIPTS.acquire, hubKeys.keys, [
      hubKeys.mailboxPrefix,
      id,
      "10000",
      "3000",
      hub.host,
      String(process.pid),
      "tag",
      "0",
    ], 5_000) as unknown[];
    await hub.run(SCRIPTS.release, hubKeys.keys, [
      hubKeys.mailboxPrefix,
      id,
      String(reply[1]),
      bytes,
    ], 10_000);
  };

  const lock = new RedisShareLock("profile-lock", { length: 64, redis: url });
  await lock.info();
  const full: Pair = async () => {
    const guard = await lock.acquire();
    guard.memory[0]++;
    await guard.release();
  };

  const pairs: [string, Pair][] = [
    ["raw", raw],
    ["scripts, plain client", plain],
    ["scripts, hub", viaHub],
    ["memshare", full],
  ];
  const closers = [() => lock.close(), () => hub.unuse(), () => c.close()];
  if (BASE !== undefined) {
    const dir = new URL(`../${BASE}/`, import.meta.url);
    const mod = await import(new URL("redis.ts", dir).href) as {
      RedisShareLock: typeof RedisShareLock;
    };
    const base = new mod.RedisShareLock("profile-base", {
      length: 64,
      redis: url,
    });
    await base.info();
    pairs.push(["base memshare", async () => {
      const guard = await base.acquire();
      guard.memory[0]++;
      await guard.release();
    }]);
    closers.push(() => base.close());
  }
  return {
    pairs,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}

/** Client-side timing: the pieces take turns in chunks of 100. */
async function timed(pairs: [string, Pair][]): Promise<number[][]> {
  const samples = pairs.map(() => [] as number[]);
  const chunk = 100;
  const start = performance.now();
  for (let round = 0; round < ROUNDS / chunk + 2; round++) {
    if (performance.now() - start > BUDGET_MS) break;
    for (let k = 0; k < pairs.length; k++) {
      const pair = pairs[k][1];
      for (let i = 0; i < chunk; i++) {
        const t = performance.now();
        await pair();
        if (round >= 2) samples[k].push(performance.now() - t);
      }
    }
  }
  return samples;
}

/** Server-side: each piece alone, `n` pairs, then `INFO commandstats`. */
async function serverSide(
  url: string,
  pairs: [string, Pair][],
  n: number,
): Promise<string[]> {
  const admin = createClient({ url });
  await admin.connect();
  const rows: string[] = [];
  for (const [label, pair] of pairs) {
    await admin.sendCommand(["CONFIG", "RESETSTAT"]);
    for (let i = 0; i < n; i++) await pair();
    const info = String(await admin.sendCommand(["INFO", "commandstats"]));
    const stats: string[] = [];
    let commands = 0;
    let scriptUs = 0;
    let scripts = 0;
    for (const line of info.split("\n")) {
      const m = /^cmdstat_(\S+?):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/
        .exec(line);
      if (m === null || m[1].startsWith("config")) continue;
      const calls = Number(m[2]);
      stats.push(`${m[1]} ${(calls / n).toFixed(2)}`);
      // Commands scripts run count too; only those the client sent are
      // "per pair" round trips.
      if (m[1] === "evalsha" || m[1] === "eval") {
        scripts += calls;
        scriptUs += Number(m[3]);
      }
      commands += calls;
    }
    rows.push(
      `| ${label} | ${stats.join(", ")} | ${
        scripts === 0 ? "–" : (scriptUs / scripts).toFixed(1)
      } |`,
    );
    void commands;
  }
  await admin.close();
  return rows;
}

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const { pairs, close } = await pieces(server.url);
    try {
      for (const [, pair] of pairs) for (let i = 0; i < 200; i++) await pair();
      const samples = await timed(pairs);
      const floor = quantile(samples[0], 0.5);
      console.log(
        `\n${RUNTIME}, ${samples[0].length} samples per piece, interleaved\n`,
      );
      console.log(
        "| piece | p50 µs | p25 µs | p75 µs | × raw p50 |\n|---|---|---|---|---|",
      );
      pairs.forEach(([label], k) => {
        const p50 = quantile(samples[k], 0.5);
        console.log(
          `| ${label} | ${us(p50)} | ${us(quantile(samples[k], 0.25))} | ${
            us(quantile(samples[k], 0.75))
          } | ${(p50 / floor).toFixed(2)}× |`,
        );
      });
      const rows = await serverSide(server.url, pairs, 1000);
      console.log(
        "\nserver (each piece alone, 1000 pairs): commands per pair, µs per script call\n",
      );
      console.log(
        "| piece | commands per pair (scripts' inner calls included) | µs per EVALSHA |\n|---|---|---|",
      );
      for (const row of rows) console.log(row);
    } finally {
      await close();
    }
  } finally {
    await server.stop();
  }
  process.exit(0);
}

await main();
