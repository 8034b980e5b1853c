/**
 * A/B of two library trees: the uncontended sync and async pairs of each,
 * interleaved in rounds (A B B A) in one process, so that machine noise hits
 * both alike; once with A loaded first and once with B, each in its own
 * process. Prints the geometric mean of the two orders' medians of B ÷ A.
 *
 * Usage (trees made with `git archive REV mod.ts src | tar -x -C DIR`):
 * `node_modules/.bin/deno run -A bench/ab.ts DIR_A DIR_B` or
 * `node_modules/.bin/bun bench/ab.ts DIR_A DIR_B`.
 *
 * @module
 */

import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { spawn } from "node:child_process";
import { benchScript, RUNTIME, scriptCommand, tempDir } from "./proc.ts";

interface Pairable {
  acquireSync(): { releaseSync(): void };
  acquire(): Promise<{ release(): Promise<void> }>;
  close(): Promise<void>;
}
type LockClass = new (
  name: string,
  options: { length: number; dir: string },
) => Pairable;

const ROUNDS = 21;
const WARMUP_ROUNDS = 3;
const PAIRS = 200_000;

function syncPairs(lock: Pairable): number {
  const start = performance.now();
  for (let i = 0; i < PAIRS; i++) lock.acquireSync().releaseSync();
  return performance.now() - start;
}

async function asyncPairs(lock: Pairable): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < PAIRS; i++) await (await lock.acquire()).release();
  return performance.now() - start;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

/** One process: A and B interleaved; returns B ÷ A (sync, async medians). */
async function measure(a: string, b: string): Promise<[number, number]> {
  const load = async (dir: string) =>
    (await import(pathToFileURL(resolve(dir, "mod.ts")).href))
      .MemoryShareLock as LockClass;
  const [A, B] = [await load(a), await load(b)];
  const scratch = tempDir();
  try {
    const lockA = new A("a", { length: 64, dir: scratch.path });
    const lockB = new B("b", { length: 64, dir: scratch.path });
    const sync: number[] = [];
    const async: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sa = syncPairs(lockA), sb = syncPairs(lockB);
      const sb2 = syncPairs(lockB), sa2 = syncPairs(lockA);
      const aa = await asyncPairs(lockA), ab = await asyncPairs(lockB);
      const ab2 = await asyncPairs(lockB), aa2 = await asyncPairs(lockA);
      if (round < WARMUP_ROUNDS) continue;
      sync.push((sb + sb2) / (sa + sa2));
      async.push((ab + ab2) / (aa + aa2));
    }
    await lockA.close();
    await lockB.close();
    return [median(sync), median(async)];
  } finally {
    scratch.remove();
  }
}

/** Runs `measure` in a child process of this runtime (a fresh JIT each time). */
function measureInChild(a: string, b: string): Promise<[number, number]> {
  const [command, argv] = scriptCommand(benchScript("ab.ts"), [
    "--one",
    a,
    b,
  ]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk) => out += chunk);
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => {
      if (code !== 0) fail(new Error(`ab.ts --one ${a} ${b}: exit ${code}`));
      else done(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const one = args[0] === "--one";
  const [a, b] = one ? args.slice(1) : args;
  if (a === undefined || b === undefined) {
    console.error("usage: bench/ab.ts DIR_A DIR_B (each holding mod.ts)");
    process.exit(2);
  }
  if (one) {
    console.log(JSON.stringify(await measure(a, b)));
  } else {
    // Whichever tree a process measures second runs a few % faster (seen
    // with two copies of one tree: 0.94–0.99 in Bun), so each order gets
    // its own process and the ratio is their geometric mean.
    const [ab1, ab2] = await measureInChild(a, b);
    const [ba1, ba2] = await measureInChild(b, a);
    const both = (x: number, y: number) => Math.sqrt(x / y).toFixed(3);
    console.log(
      `${RUNTIME}: B ÷ A, median of ${ROUNDS - WARMUP_ROUNDS} rounds, ` +
        `both orders: sync pair ${both(ab1, ba1)} (A first ${
          ab1.toFixed(3)
        }, B first ${(1 / ba1).toFixed(3)}), async pair ${both(ab2, ba2)} ` +
        `(A first ${ab2.toFixed(3)}, B first ${(1 / ba2).toFixed(3)})`,
    );
  }
}
