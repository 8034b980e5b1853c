/**
 * Which Redis client memshare should use, by measurement: in one process,
 * on a throwaway loopback `redis-server` (free port, temp dir), each client
 * this runtime has takes turns in chunks of 100 (the order rotating each
 * chunk) at a memshare-shaped pair of round trips:
 * - an `EVALSHA` of a small script with 3 keys and 5 arguments that does a
 *   `TIME`, an `HGET` and a `GET` of a 64-byte binary value and returns
 *   `{token, bytes}`, the bytes wanted back exactly;
 * - a plain `SET NX PX` + `DEL`.
 * Clients: `node-redis` (`@redis/client`, bulk strings mapped to `Buffer`
 * as src/engine/redis/client.ts does), `ioredis` (`callBuffer`) and,
 * under Bun only, Bun's built-in `RedisClient` (`send("EVALSHA", …)`).
 * Before timing, each client's reply bytes are compared with the stored
 * value ("bytes exact"): memshare's shared memory is binary, a client that
 * cannot return arbitrary bytes unchanged is out whatever its speed.
 * Then, per client, a child process (`deno run --no-prompt --allow-net`,
 * or `bun`) imports only that client and times import → connect → first
 * `PING` ("first command"), which also shows whether `--allow-net` alone
 * is enough in Deno.
 *
 * Usage: `deno run -A bench/redis_clients.ts` or `bun bench/redis_clients.ts`
 * (`ROUNDS=n` samples per client, default 3000; sampling stops after 40 s).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import process from "node:process";
import { fileURLToPath } from "node:url";

const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
/** Stop sampling after this long, whatever ROUNDS says. */
const BUDGET_MS = 40_000;
const CHUNK = 100;

const SCRIPT = `local t = redis.call('TIME')
local token = tonumber(redis.call('HGET', KEYS[1], ARGV[1])) or 0
local bytes = redis.call('GET', KEYS[2])
if ARGV[2] == '' or KEYS[3] == '' then return redis.error_reply('unused') end
return {token + (tonumber(t[1]) * 0), bytes}`;
const KEYS = ["clients:{b}:state", "clients:{b}:data", "clients:{b}:meta"];
const ARGS = ["token", "holder.1", "10000", "3000", "tag"];
/** 64 bytes, half of them ≥ 0x80 (not UTF-8 text). */
const VALUE = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 128) & 255);

/** One client's pair of round trips; `bytes()` is the script's reply bytes. */
interface Candidate {
  readonly name: string;
  readonly evalsha: () => Promise<unknown>;
  readonly pair: () => Promise<void>;
  readonly close: () => Promise<void> | void;
}

interface BunRedis {
  connect(): Promise<void>;
  send(command: string, args: string[]): Promise<unknown>;
  close(): void;
}
type BunRedisClass = new (url: string) => BunRedis;

function bunRedisClass(): BunRedisClass | undefined {
  return (globalThis as { Bun?: { RedisClient: BunRedisClass } }).Bun
    ?.RedisClient;
}

async function nodeRedis(url: string, sha: string): Promise<Candidate> {
  const { createClient, RESP_TYPES } = await import("@redis/client");
  const binary = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  const me = crypto.randomUUID();
  const evalsha = () =>
    c.sendCommand(["EVALSHA", sha, "3", ...KEYS, ...ARGS], {
      typeMapping: binary,
    });
  return {
    name: "node-redis",
    evalsha,
    pair: async () => {
      await evalsha();
      await c.sendCommand(["SET", "clients:nr", me, "NX", "PX", "10000"], {
        typeMapping: binary,
      });
      await c.sendCommand(["DEL", "clients:nr"], { typeMapping: binary });
    },
    close: () => c.close(),
  };
}

async function ioRedis(url: string, sha: string): Promise<Candidate> {
  const { Redis } = await import("ioredis");
  const c = new Redis(url, { lazyConnect: true });
  c.on("error", () => {});
  await c.connect();
  const me = crypto.randomUUID();
  const evalsha = () => c.callBuffer("EVALSHA", sha, "3", ...KEYS, ...ARGS);
  return {
    name: "ioredis",
    evalsha,
    pair: async () => {
      await evalsha();
      await c.set("clients:io", me, "PX", 10000, "NX");
      await c.del("clients:io");
    },
    close: () => {
      c.disconnect();
    },
  };
}

async function bunRedis(url: string, sha: string): Promise<Candidate> {
  const RedisClient = bunRedisClass()!;
  const c = new RedisClient(url);
  await c.connect();
  const me = crypto.randomUUID();
  const evalsha = () => c.send("EVALSHA", [sha, "3", ...KEYS, ...ARGS]);
  return {
    name: "Bun RedisClient",
    evalsha,
    pair: async () => {
      await evalsha();
      await c.send("SET", ["clients:bun", me, "NX", "PX", "10000"]);
      await c.send("DEL", ["clients:bun"]);
    },
    close: () => c.close(),
  };
}

/** Whether the script's reply is `[7, VALUE]` byte for byte, and what came back. */
function exact(reply: unknown): string {
  if (!Array.isArray(reply) || Number(reply[0]) !== 7) {
    return `no (reply ${String(reply)})`;
  }
  const bytes = reply[1];
  if (bytes instanceof Uint8Array) {
    return Buffer.from(bytes).equals(Buffer.from(VALUE))
      ? "yes"
      : "no (other bytes)";
  }
  if (typeof bytes === "string") {
    const lost = [...bytes].filter((ch) => ch === "\uFFFD").length;
    return `no: a string, ${lost} of 64 bytes now U+FFFD`;
  }
  return `no (${typeof bytes})`;
}

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) * q)];
}

const us = (ms: number) => (ms * 1000).toFixed(1);

async function timed(candidates: Candidate[], rounds: number) {
  const samples = candidates.map(() => [] as number[]);
  const start = performance.now();
  for (let round = 0; round * CHUNK < rounds; round++) {
    if (performance.now() - start > BUDGET_MS) break;
    for (let j = 0; j < candidates.length; j++) {
      const k = (round + j) % candidates.length;
      const pair = candidates[k].pair;
      for (let i = 0; i < CHUNK; i++) {
        const t = performance.now();
        await pair();
        samples[k].push(performance.now() - t);
      }
    }
  }
  return samples;
}

/** In a child: import only `name`, connect, `PING`; prints JSON. */
async function probe(name: string, url: string): Promise<void> {
  const t0 = performance.now();
  let result: Record<string, unknown>;
  try {
    if (name === "node-redis") {
      const { createClient } = await import("@redis/client");
      const c = createClient({ url });
      c.on("error", () => {});
      await c.connect();
      await c.ping();
      result = { ok: true, ms: performance.now() - t0 };
      await c.close();
    } else if (name === "ioredis") {
      const { Redis } = await import("ioredis");
      const c = new Redis(url, { lazyConnect: true });
      c.on("error", () => {});
      await c.connect();
      await c.ping();
      result = { ok: true, ms: performance.now() - t0 };
      c.disconnect();
    } else {
      const c = new (bunRedisClass()!)(url);
      await c.connect();
      await c.send("PING", []);
      result = { ok: true, ms: performance.now() - t0 };
      c.close();
    }
  } catch (error) {
    result = {
      ok: false,
      error: String(error instanceof Error ? error.message : error).split(
        "\n",
      )[0],
    };
  }
  console.log(JSON.stringify(result));
  process.exit(0);
}

/** Each client's first-command time in a fresh child (median of 3). */
function firstCommand(names: string[], url: string): string[] {
  const script = fileURLToPath(import.meta.url);
  return names.map((name) => {
    const runs: number[] = [];
    let note = "";
    let extra: string[] = [];
    for (let i = 0; i < 3; i++) {
      const args = RUNTIME === "deno"
        ? ["run", "--no-prompt", "--allow-net", ...extra, script]
        : [script];
      const child = spawnSync(
        process.execPath,
        [...args, `--probe=${name}`, `--url=${url}`],
        { encoding: "utf8", timeout: 30_000 },
      );
      const line = child.stdout.trim().split("\n").pop() ?? "";
      try {
        const r = JSON.parse(line) as {
          ok: boolean;
          ms?: number;
          error?: string;
        };
        if (r.ok) runs.push(r.ms!);
        else note = `fails: ${r.error}`;
        // Deno: a client that wants env access is timed with it, and says so.
        if (!r.ok && RUNTIME === "deno" && extra.length === 0) {
          if (/env access/.test(r.error ?? "")) {
            extra = ["--allow-env"];
            note =
              `\`--allow-net\` alone fails (${r.error}); timed with \`--allow-env\` too`;
            i--;
          }
        }
      } catch {
        note = `fails: ${(child.stderr || line).trim().split("\n")[0]}`;
      }
    }
    const ms = runs.length > 0 ? `${quantile(runs, 0.5).toFixed(0)} ms` : "–";
    const perms = RUNTIME === "deno"
      ? (note === "" ? "`--allow-net` is enough" : note)
      : note === "" && name === "bun"
      ? "(no permissions in Bun; no import: built in)"
      : note === ""
      ? "(no permissions in Bun)"
      : note;
    return `| ${name} | ${ms} | ${perms} |`;
  });
}

async function main(): Promise<void> {
  const probeArg = process.argv.find((a) => a.startsWith("--probe="));
  if (probeArg !== undefined) {
    const url = process.argv.find((a) => a.startsWith("--url="))!.slice(6);
    return await probe(probeArg.slice(8), url);
  }
  const rounds = Math.min(Number(process.env.ROUNDS ?? 3000), 100_000);
  const { startRedis } = await import("../tests/redis_server.ts");
  const server = await startRedis();
  try {
    const { createClient } = await import("@redis/client");
    const admin = createClient({ url: server.url });
    await admin.connect();
    const sha = String(await admin.sendCommand(["SCRIPT", "LOAD", SCRIPT]));
    await admin.sendCommand(["HSET", KEYS[0], "token", "7"]);
    await admin.sendCommand(["SET", KEYS[1], Buffer.from(VALUE)] as string[]);
    await admin.close();

    const makers = [nodeRedis, ioRedis];
    if (bunRedisClass() !== undefined) makers.push(bunRedis);
    const candidates: Candidate[] = [];
    for (const make of makers) candidates.push(await make(server.url, sha));
    try {
      const verdicts: string[] = [];
      for (const c of candidates) verdicts.push(exact(await c.evalsha()));
      for (const c of candidates) for (let i = 0; i < 200; i++) await c.pair();
      const samples = await timed(candidates, rounds);
      const base = quantile(samples[0], 0.5);
      console.log(
        `\n${RUNTIME}, ${
          samples[0].length
        } samples per client, interleaved in chunks of ${CHUNK}\n`,
      );
      console.log(
        "| client | p50 µs | p25–p75 µs | × node-redis p50 | bytes exact |\n|---|---|---|---|---|",
      );
      candidates.forEach((c, k) => {
        const p50 = quantile(samples[k], 0.5);
        console.log(
          `| ${c.name} | ${us(p50)} | ${us(quantile(samples[k], 0.25))}–${
            us(quantile(samples[k], 0.75))
          } | ${(p50 / base).toFixed(2)}× | ${verdicts[k]} |`,
        );
      });
    } finally {
      for (const c of candidates) await c.close();
    }
    console.log(
      `\nimport → connect → first PING, a fresh ${RUNTIME} child per client (median of 3)\n`,
    );
    console.log("| client | first command | permissions |\n|---|---|---|");
    const names = candidates.map((c) =>
      c.name === "Bun RedisClient" ? "bun" : c.name
    );
    for (const row of firstCommand(names, server.url)) console.log(row);
  } finally {
    await server.stop();
  }
  process.exit(0);
}

await main();
