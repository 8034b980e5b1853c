/**
 * The Redis lock against its raw floor and what Node users pick today,
 * same run, on a throwaway loopback `redis-server`:
 * - uncontended acquire + release (one process), 64 B and 64 KiB for
 *   memshare, and the least fenced script pair (`fenced` in
 *   redis_lockers.ts: what any lock with these guarantees costs);
 * - contended throughput of 4 processes on one lock;
 * (hand-off latency: `bench/redis_handoff.ts`).
 * The raw floor is one `SET NX PX` + one compare-and-delete script from
 * the same client (`@redis/client`), retried at once when busy.
 *
 * Usage: `deno run -A bench/redis.ts` or `bun bench/redis.ts`
 * (`ROUNDS=n` to change the sample size; `--save=FILE` also writes the
 * rows as JSON, see {@link RedisResults}, for `bench/redis_charts.ts`).
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { startRedis } from "../tests/redis_server.ts";
import { LOCKER_KINDS, type LockerKind, makeLocker } from "./redis_lockers.ts";
import { type RedisRow, saveResults, saveTarget } from "./redis_rows.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 2000);
const SCRIPT = import.meta.filename ?? new URL(import.meta.url).pathname;
const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
/** Acquisitions per process in the contended run (the polling locks are slow). */
const CONTENDED: Record<LockerKind, number> = {
  raw: 500,
  fenced: 0, // uncontended only
  memshare: 500,
  "redis-semaphore": 100,
  redlock: 20,
};

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

function peer(args: string[]): {
  ready: Promise<void>;
  go: () => void;
  done: Promise<unknown>;
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
  return {
    ready,
    go: () => child.stdin!.write("go\n"),
    done: new Promise((resolve) => child.on("close", resolve)),
  };
}

/** A contending process: `redis.ts KIND URL N`: N acquire + release once told to go. */
async function peerMain(kind: LockerKind, url: string, rounds: number) {
  const locker = await makeLocker(kind, url, "contended");
  console.log("ready");
  await new Promise<void>((resolve) =>
    process.stdin.once("data", () => {
      process.stdin.pause();
      resolve();
    })
  );
  for (let i = 0; i < rounds; i++) await (await locker.acquire())();
  await locker.close();
  process.exit(0);
}

/**
 * Uncontended acquire + release, p50 per locker; the lockers take turns in
 * chunks so that a noisy moment of the machine hits all of them alike.
 */
async function uncontended(
  url: string,
  entries: [string, LockerKind, number][],
): Promise<Map<string, number>> {
  const lockers = await Promise.all(
    entries.map(([label, kind, length]) =>
      makeLocker(kind, url, `uncontended-${label}`, length)
    ),
  );
  const samples = entries.map(() => [] as number[]);
  const chunk = 100;
  for (let round = 0; round < ROUNDS / chunk + 2; round++) {
    for (let k = 0; k < lockers.length; k++) {
      for (let i = 0; i < chunk; i++) {
        const t = performance.now();
        await (await lockers[k].acquire())();
        if (round >= 2) samples[k].push(performance.now() - t);
      }
    }
  }
  await Promise.all(lockers.map((l) => l.close()));
  return new Map(entries.map(([label], k) => [label, p50(samples[k])]));
}

async function contended(kind: LockerKind, url: string): Promise<number> {
  const per = CONTENDED[kind];
  const peers = [0, 1, 2, 3].map(() => peer([kind, url, String(per)]));
  await Promise.all(peers.map((p) => p.ready));
  const t = performance.now();
  for (const p of peers) p.go();
  await Promise.all(peers.map((p) => p.done));
  return (4 * per) / ((performance.now() - t) / 1000);
}

async function main(save: string | undefined): Promise<void> {
  const server = await startRedis();
  const rows: string[] = [];
  const saved: RedisRow[] = [];
  try {
    const entries: [string, LockerKind, number][] = LOCKER_KINDS.map((
      kind,
    ) => [kind, kind, 64]);
    entries.splice(1, 0, ["fenced", "fenced", 64]);
    entries.splice(3, 0, ["memshare, 64 KiB", "memshare", 65_536]);
    const medians = await uncontended(server.url, entries);
    const floor = medians.get("raw")!;
    for (const [label, m] of medians) {
      const bytes = entries.find(([l]) => l === label)![2];
      saved.push({
        section: "uncontended",
        operation: `${label} acquire + release, uncontended`,
        runtime: RUNTIME,
        kind: entries.find(([l]) => l === label)![1],
        bytes,
        value: m * 1000,
        unit: "µs",
        ratio: m / floor,
      });
      rows.push(
        `| ${label} acquire + release, uncontended | ${us(m)} | ${
          (m / floor).toFixed(2)
        }× |`,
      );
    }
    const rawRate = await contended("raw", server.url);
    for (const kind of LOCKER_KINDS) {
      const rate = kind === "raw" ? rawRate : await contended(kind, server.url);
      saved.push({
        section: "contended",
        operation: `${kind}, 4 processes contending`,
        runtime: RUNTIME,
        kind,
        value: rate,
        unit: "/s",
        ratio: rate / rawRate,
      });
      rows.push(
        `| ${kind}, 4 processes contending | ${rate.toFixed(0)} /s | ${
          (rate / rawRate).toFixed(2)
        }× |`,
      );
    }
  } finally {
    await server.stop();
  }
  console.log(`\n${RUNTIME}, ${ROUNDS} rounds\n`);
  console.log("| operation | p50 / rate | × raw |\n|---|---|---|");
  for (const row of rows) console.log(row);
  if (save !== undefined) {
    saveResults(save, "bench/redis.ts", RUNTIME, { ROUNDS }, saved);
  }
  process.exit(0);
}

const save = saveTarget(process.argv);
const [kind, url, rounds] = process.argv.slice(2).filter((a) =>
  !a.startsWith("--save=")
);
if (kind !== undefined) {
  await peerMain(kind as LockerKind, url, Number(rounds));
} else await main(save);
