/**
 * What the uncontended path costs, piece by piece: the pieces of
 * `acquireSync()` + `releaseSync()` (and of the async pair) timed in
 * isolation with the library's own modules, in interleaved batches, next to
 * the full pairs. Prints a markdown table for the runtime running it.
 *
 * Usage: `node_modules/.bin/deno run -A bench/profile.ts [--quick]` or
 * `node_modules/.bin/bun bench/profile.ts [--quick]`.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { currentPlatform } from "../src/ffi/current.ts";
import { type GuardOwner, LockGuard } from "../src/front/guard.ts";
import {
  Header,
  HEADER_SIZE,
  WAITERS_WORD,
} from "../src/engine/local/header.ts";
import { MemoryShareLock } from "../mod.ts";
import { libc, LOCK_EX, LOCK_NB, LOCK_UN, openFd } from "./libc.ts";
import { RUNTIME, tempDir } from "./proc.ts";
import { type BatchOp, interleavedBatches, quantile } from "./stats.ts";

const LENGTH = 64;
const RAW = "raw FFI flock(EX|NB) + flock(UN)";
/** The pieces of the sync fast path (acquireSync/tryAcquire + releaseSync). */
const PIECES = [
  "platform.tryLock() + platform.unlock() (the flock pair via the platform)",
  "platform.now() (claim time; Linux: coarse real-time clock via FFI)",
  "header: CAS holder, lockIdIs, since, acquisitions++, clearHolder, waiters load",
  "new LockGuard()",
];
const AWAITS = "two awaits of settled promises (what the async pair adds)";

/** The pieces and the wholes, in table order. */
function operations(
  dir: string,
): { ops: BatchOp[]; done: () => Promise<void> } {
  const platform = currentPlatform();
  const fd = openFd(join(dir, "piece.lock"));
  const dataPath = join(dir, "piece.data");
  writeFileSync(dataPath, new Uint8Array(HEADER_SIZE + LENGTH));
  const dataFd = platform.openFile(dataPath, false, 0o600);
  const mapping = platform.map(dataFd, HEADER_SIZE + LENGTH);
  const header = new Header(mapping.buffer(0, HEADER_SIZE));
  header.initialize(LENGTH);
  const lockId = platform.statHandle(fd).id;
  header.recordLockId(lockId);
  const pid = platform.pid();
  // Like SharedFiles: one region buffer, moved by transfer() at each release.
  let region = mapping.buffer(HEADER_SIZE, LENGTH);
  const owner: GuardOwner = { release: () => {}, region: () => region };
  const lock = new MemoryShareLock("whole", { length: LENGTH, dir });
  lock.acquireSync().releaseSync();
  let sink = 0;

  // What the async pair adds to the sync one: acquire returns a settled
  // promise of the guard, release one shared settled promise.
  const settled = Promise.resolve();
  const acquireLean = () => Promise.resolve(1);
  const releaseLean = () => settled;

  const loop = (name: string, body: () => void): BatchOp => ({
    name,
    run(n) {
      for (let i = 0; i < n; i++) body();
    },
  });

  const ops: BatchOp[] = [
    loop(RAW, () => {
      if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) throw new Error("EX");
      if (libc.flock(fd, LOCK_UN) !== 0) throw new Error("UN");
    }),
    loop(PIECES[0], () => {
      if (!platform.tryLock(fd)) throw new Error("busy");
      platform.unlock(fd);
    }),
    loop(PIECES[1], () => {
      sink += platform.now();
    }),
    loop("Date.now() (for comparison)", () => {
      sink += Date.now();
    }),
    loop(PIECES[2], () => {
      if (header.swapHolder(0, pid) !== 0 || !header.lockIdIs(lockId)) {
        throw new Error("claim");
      }
      header.since = sink;
      header.acquisitions = header.acquisitions + 1;
      header.clearHolder();
      sink += Atomics.load(header.words, WAITERS_WORD);
    }),
    loop(PIECES[3], () => {
      sink += new LockGuard(false, 0, owner).recovered ? 1 : 0;
    }),
    loop("guard.memory: a view over the region buffer (new Uint8Array)", () => {
      sink += new Uint8Array(owner.region()).length;
    }),
    loop("guard.memory view + detach at release (region.transfer())", () => {
      new Uint8Array(owner.region())[0]++;
      region = region.transfer();
    }),
    {
      name: AWAITS,
      async run(n) {
        for (let i = 0; i < n; i++) {
          sink += await acquireLean();
          await releaseLean();
        }
      },
    },
    {
      name: "floor of the async pair: raw FFI pair + two awaits",
      async run(n) {
        for (let i = 0; i < n; i++) {
          if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) throw new Error("EX");
          sink += await acquireLean();
          if (libc.flock(fd, LOCK_UN) !== 0) throw new Error("UN");
          await releaseLean();
        }
      },
    },
    loop("whole: acquireSync() + releaseSync()", () => {
      lock.acquireSync().releaseSync();
    }),
    loop("whole: tryAcquire() + releaseSync()", () => {
      lock.tryAcquire()!.releaseSync();
    }),
    {
      name: "whole: await acquire() + await release()",
      async run(n) {
        for (let i = 0; i < n; i++) await (await lock.acquire()).release();
      },
    },
    loop("whole: acquireSync() + memory[0]++ + releaseSync()", () => {
      const guard = lock.acquireSync();
      guard.memory[0]++;
      guard.releaseSync();
    }),
  ];
  return {
    ops,
    done: async () => {
      if (sink === -1) console.log(sink); // keep the results alive
      await lock.close();
      libc.close(fd);
    },
  };
}

if (import.meta.main) {
  const quick = process.argv.includes("--quick");
  const scratch = tempDir();
  try {
    const { ops, done } = operations(scratch.path);
    const { samples } = await interleavedBatches(ops, {
      batches: quick ? 5 : 30,
      maxPerBatch: quick ? 2000 : 20_000,
      targetBatchMs: quick ? 5 : 30,
    });
    await done();
    const raw = quantile(samples.get(ops[0].name)!, 0.5);
    console.log(`### uncontended path, piece by piece (${RUNTIME})\n`);
    console.log("| piece | median | p90 | × raw FFI pair |");
    console.log("|---|--:|--:|--:|");
    const median = (name: string) => quantile(samples.get(name)!, 0.5);
    const line = (name: string, ns: number, p90?: number) =>
      console.log(
        `| ${name.replaceAll("|", "\\|")} | ${ns.toFixed(0)} ns | ${
          p90 === undefined ? "" : `${p90.toFixed(0)} ns`
        } | ${(ns / raw).toFixed(2)} |`,
      );
    for (const op of ops) {
      line(op.name, median(op.name), quantile(samples.get(op.name)!, 0.9));
    }
    const sync = PIECES.reduce((sum, name) => sum + median(name), 0);
    line("= sum of the sync pieces", sync);
    line("= sum of the sync pieces + two awaits", sync + median(AWAITS));
  } finally {
    scratch.remove();
  }
}
