/**
 * Where a synchronous hand-off's time goes: `acquireSync()` ← `releaseSync()`
 * between two processes (the ping-pong of `bench/handoff.ts`), split at the
 * OS lock, against the raw blocking `flock` pair in the same run:
 * - stamp → unlock: the releaser, from its timestamp to the `flock(LOCK_UN)`
 *   call (memshare's release path before it lets go);
 * - unlock → lock returns: the kernel's wake-up of the waiter blocked in
 *   `flock(LOCK_EX)` and the scheduling of its thread;
 * - lock returns → acquired: the waiter, from `flock` returning to
 *   `acquireSync()` returning (the claim and the guard);
 * - transfer: the time inside `ArrayBuffer.prototype.transfer` that round
 *   (the release detaching the views of `guard.memory`).
 * The split comes from wrapping the platform's `lock` / `unlock` and
 * `transfer` in both processes, so it adds two clock reads per hand-off.
 *
 * Usage: `deno run -A bench/handoff_split.ts [ROUNDS]` or
 * `bun bench/handoff_split.ts [ROUNDS]` (default 400; three repeats).
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { currentPlatform } from "../src/ffi/current.ts";
import type { Handle, Platform } from "../src/ffi/platform.ts";
import { Control } from "./control.ts";
import { makeLocker, participate, type Variant } from "./handoff.ts";
import { monoNs } from "./libc.ts";
import { runChild, tempDir } from "./proc.ts";
import { quantile } from "./stats.ts";

/** The control block's word where the waiter announces its round (handoff.ts). */
const WAITING = 1;
/** Control-block f64 slots, indexed by round: latency (handoff.ts), then the probes. */
const LATENCY = 16;
const TRANSFER = 1000;
const ACQUIRED_AT = 2000;
const LOCKED_AT = 4000;
const STAMP_AT = 5000;
const UNLOCK_AT = 6000;

/** The control blocks of the run under way (the wrappers stamp into them). */
let blocks: { ctl: Control; probe: Control } | null = null;

/** Wraps this process's platform and `transfer` to stamp each round in `blocks.probe`. */
function instrument(): void {
  const round = () => Atomics.load(blocks!.ctl.words, WAITING);
  // Writable for this measurement only: the library never reassigns these.
  const platform = currentPlatform() as {
    -readonly [K in keyof Platform]: Platform[K];
  };
  const lock = platform.lock!.bind(platform);
  const unlock = platform.unlock.bind(platform);
  platform.lock = (handle: Handle) => {
    lock(handle);
    blocks!.probe.floats[LOCKED_AT + round()] = monoNs();
  };
  platform.unlock = (handle: Handle) => {
    blocks!.probe.floats[UNLOCK_AT + round()] = monoNs();
    unlock(handle);
  };
  const transfer = ArrayBuffer.prototype.transfer;
  ArrayBuffer.prototype.transfer = function (
    this: ArrayBuffer,
    length?: number,
  ): ArrayBuffer {
    const started = monoNs();
    const moved = transfer.call(this, length);
    blocks!.probe.floats[TRANSFER + round()] += monoNs() - started;
    return moved;
  };
}

/** Records a round's stamp and acquisition times in `probe` (see `participate`). */
function marker(probe: Control) {
  return (what: "stamped" | "acquired", round: number, ns: number) => {
    probe.floats[(what === "stamped" ? STAMP_AT : ACQUIRED_AT) + round] = ns;
  };
}

const [role, variantArg, dirArg, ctlArg, probeArg, roundsArg] = process.argv
  .slice(2);

if (role === "peer") {
  const ctl = new Control(ctlArg);
  const probe = new Control(probeArg);
  const locker = await makeLocker(variantArg as Variant, dirArg, ctl);
  blocks = { ctl, probe };
  if (variantArg === "memshare-sync") instrument();
  await participate(locker, ctl, 1, Number(roundsArg), marker(probe));
  process.exit(0);
}

// The probes' slots (see above) leave room for 900 rounds.
const rounds = Math.min(Number(role ?? 400) || 400, 900);
const warmup = 20;
const total = rounds + warmup;
const µs = (ns: number[]) =>
  `p50 ${(quantile(ns, 0.5) / 1000).toFixed(1)} p90 ${
    (quantile(ns, 0.9) / 1000).toFixed(1)
  }`;
const runtime = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
let instrumented = false;
for (let repeat = 0; repeat < 3; repeat++) {
  for (const variant of ["raw-sync", "memshare-sync"] as Variant[]) {
    const dir = tempDir();
    try {
      const ctlPath = join(dir.path, "ctl");
      const probePath = join(dir.path, "probe");
      const ctl = new Control(ctlPath);
      const probe = new Control(probePath);
      const locker = await makeLocker(variant, dir.path, ctl);
      blocks = { ctl, probe };
      // The raw variant never calls the platform: wrapped once, from here on.
      if (variant === "memshare-sync" && !instrumented) {
        instrument();
        instrumented = true;
      }
      const peer = runChild("handoff_split.ts", [
        "peer",
        variant,
        dir.path,
        ctlPath,
        probePath,
        String(total),
      ]);
      await participate(locker, ctl, 0, total, marker(probe));
      await peer;
      const pick = (slot: number, from = 0) => {
        const out: number[] = [];
        for (let r = warmup + 1; r <= total; r++) {
          out.push(
            probe.floats[slot + r] - (from ? probe.floats[from + r] : 0),
          );
        }
        return out;
      };
      const latency: number[] = [];
      for (let r = warmup + 1; r <= total; r++) {
        latency.push(ctl.floats[LATENCY + r]);
      }
      let line = `${runtime} ${variant.padEnd(13)} hand-off ${µs(latency)} µs`;
      if (variant === "memshare-sync") {
        line += ` | stamp→unlock ${µs(pick(UNLOCK_AT, STAMP_AT))}` +
          ` | unlock→lock returns ${µs(pick(LOCKED_AT, UNLOCK_AT))}` +
          ` | lock returns→acquired ${µs(pick(ACQUIRED_AT, LOCKED_AT))}` +
          ` | transfer ${µs(pick(TRANSFER))}`;
      }
      console.log(line);
    } finally {
      dir.remove();
    }
  }
}
process.exit(0);
