/**
 * What a Redis script's parts cost on the server (`INFO commandstats`, µs
 * per call), on a throwaway loopback `redis-server` started here:
 * - an empty script by `EVALSHA` (memshare's 5 keys + 8 arguments, and one
 *   key) against the same empty function by `FCALL`;
 * - `TIME` inside a script (every memshare script starts with it);
 * - a bare `SET NX PX` and `GET` (the raw floor's commands);
 * - memshare's uncontended acquire + release fast paths as shipped, and a
 *   trial of the same with the fence `INCR` and both `LLEN`s left out (a
 *   key layout with the token and queue length in the state hash would
 *   allow it): µs per acquire + release pair.
 * Five interleaved rounds; each figure is printed as min / median.
 *
 * Usage: `deno run -A bench/redis_calls.ts` or `bun bench/redis_calls.ts`.
 *
 * @module
 */

import { createClient } from "@redis/client";
import process from "node:process";
import { startRedis } from "../tests/redis_server.ts";
import { lockKeys, SCRIPTS } from "../src/engine/redis/scripts.ts";
import { quantile } from "./stats.ts";

const ROUNDS = 5;
const CALLS = 2000;
const keys = lockKeys("calls").keys;
const args = ["mbp", "me", "10000", "3000", "host:123:tag", "123", "tag", "0"];

/** The fast path of a script: its source up to where the shared functions start. */
const fastPath = (source: string) =>
  source.slice(0, source.indexOf("\n-- What this call")) + "\nreturn 0";
/** The trial: `source` with `INCR` and `LLEN` left out; throws if a script changed so that nothing was. */
function trimmed(source: string): string {
  const out = source
    .replace("and redis.call('LLEN', Q) == 0", "")
    .replace("if redis.call('LLEN', Q) == 0 then", "if true then")
    .replace(
      "local token = redis.call('INCR', F)",
      "local token = tonumber(h[4] or '0') + 1",
    );
  if (out === source) {
    throw new Error("the trial found no INCR or LLEN to leave out: update it");
  }
  return out;
}

const server = await startRedis();
const client = createClient({ url: server.url });
await client.connect();
try {
  const load = async (source: string) =>
    String(await client.sendCommand(["SCRIPT", "LOAD", source]));
  await client.sendCommand([
    "FUNCTION",
    "LOAD",
    "REPLACE",
    "#!lua name=calls\nredis.register_function('empty', function() return 1 end)",
  ]);
  const empty = await load("return 1");
  const time = await load("local t = redis.call('TIME') return 1");
  const shipped = [
    await load(fastPath(SCRIPTS.acquire.source)),
    await load(fastPath(SCRIPTS.release.source)),
  ];
  const trial = [
    await load(trimmed(fastPath(SCRIPTS.acquire.source))),
    await load(trimmed(fastPath(SCRIPTS.release.source))),
  ];
  const pair = (shas: string[]) => async () => {
    const reply = await client.sendCommand([
      "EVALSHA",
      shas[0],
      String(keys.length),
      ...keys,
      ...args,
    ]) as unknown[];
    const released = await client.sendCommand([
      "EVALSHA",
      shas[1],
      String(keys.length),
      ...keys,
      "mbp",
      "me",
      String(reply[1]),
      "x".repeat(64),
    ]);
    if (Number(released) !== 1) {
      throw new Error(`release refused: ${String(released)}`);
    }
  };
  const pieces: [string, string, () => Promise<unknown>][] = [
    [
      "EVALSHA empty, 5 keys + 8 arguments",
      "evalsha",
      () => client.sendCommand(["EVALSHA", empty, "5", ...keys, ...args]),
    ],
    [
      "FCALL empty, 5 keys + 8 arguments",
      "fcall",
      () => client.sendCommand(["FCALL", "empty", "5", ...keys, ...args]),
    ],
    [
      "EVALSHA empty, 1 key",
      "evalsha",
      () => client.sendCommand(["EVALSHA", empty, "1", keys[0]]),
    ],
    [
      "FCALL empty, 1 key",
      "fcall",
      () => client.sendCommand(["FCALL", "empty", "1", keys[0]]),
    ],
    [
      "EVALSHA of TIME, 5 keys + 8 arguments",
      "evalsha",
      () => client.sendCommand(["EVALSHA", time, "5", ...keys, ...args]),
    ],
    ["SET NX PX (then DEL)", "set", async () => {
      await client.sendCommand(["SET", "k", "v", "NX", "PX", "1000"]);
      await client.sendCommand(["DEL", "k"]);
    }],
    ["GET", "get", () => client.sendCommand(["GET", "k"])],
    [
      "acquire + release fast paths, as shipped (per pair)",
      "evalsha",
      pair(
        shipped,
      ),
    ],
    ["… without INCR and the two LLEN (per pair)", "evalsha", pair(trial)],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, command, run] of pieces) {
      await client.sendCommand(["DEL", ...keys]);
      await client.sendCommand(["CONFIG", "RESETSTAT"]);
      for (let i = 0; i < CALLS; i++) await run();
      const stats = String(await client.sendCommand(["INFO", "commandstats"]));
      const usec = Number(
        new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+)`).exec(stats)![1],
      );
      const list = results.get(name) ?? [];
      list.push(usec / CALLS);
      results.set(name, list);
    }
  }
  const runtime = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
  console.log(
    `\n${runtime}: server µs per call (INFO commandstats), ${ROUNDS} rounds of ${CALLS}\n`,
  );
  console.log("| piece | min | median |");
  console.log("|---|---|---|");
  for (const [name, values] of results) {
    console.log(
      `| ${name} | ${Math.min(...values).toFixed(1)} | ${
        quantile(values, 0.5).toFixed(1)
      } |`,
    );
  }
} finally {
  await client.close();
  await server.stop();
}
process.exit(0);
