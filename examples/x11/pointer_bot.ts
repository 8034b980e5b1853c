/**
 * One pointer bot of the desktop example: drags the real X pointer along
 * its own path (a square, a circle or a triangle in its own part of the
 * screen) a few times, each drag while holding the `mouse` lock — or,
 * in the control run, without it. After every step it reads the pointer
 * back (XQueryPointer) and records whether it is where it put it.
 *
 * Usage: pointer_bot.ts NAME DIR lock|nolock DISPLAY SHAPE CX CY RADIUS
 *
 * Prints `{"type":"ready"}` once connected and waiting at the starting
 * gate, then one `{"type":"result", ...}` line when done. Deno needs only
 * `--allow-ffi` (libX11 reads nothing through Deno: the display name comes
 * on the command line).
 *
 * @module
 */

import process from "node:process";
import { MemoryShareLock } from "../../mod.ts";
import { runtime } from "../../src/ffi/runtime/runtime.ts";
import { openGate, readSchedule } from "../gate.ts";
import { now } from "../protocol.ts";
import { type Drag, pathPoints, type Shape } from "./paths.ts";
import { XDisplay } from "./xlib.ts";

/** Drags per bot. */
const DRAGS = 3;
/** Steps per drag. */
const STEPS = 32;
/** How long the pointer rests at each step before it is read back, ms (a person's drag is slower still). */
const DWELL_MS = 3;

const [bot, dir, mode, displayName, shape, cx, cy, radius] = process.argv
  .slice(2);
if (
  radius === undefined || (mode !== "lock" && mode !== "nolock")
) {
  throw new Error(
    "usage: pointer_bot.ts NAME DIR lock|nolock DISPLAY SHAPE CX CY RADIUS",
  );
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const display = new XDisplay(displayName);
const mouse = new MemoryShareLock("mouse", {
  length: 8,
  tagName: "the X pointer",
  dir,
});
console.log(JSON.stringify({ type: "ready", bot, pid: process.pid }));

const gate = openGate(dir);
const schedule = await gate.run(readSchedule);
await gate.close();
await sleep(schedule.start - now());

const drags: Drag[] = [];
for (let d = 0; d < DRAGS; d++) {
  // Each drag a little smaller than the last, so the picture shows them all.
  const points = pathPoints(
    shape as Shape,
    { x: Number(cx), y: Number(cy) },
    Number(radius) * (1 - 0.22 * d),
    STEPS,
  );
  const guard = mode === "lock"
    ? await mouse.acquire({ timeout: 30_000 })
    : undefined;
  const drag: Drag = { start: now(), end: 0, steps: [] };
  try {
    for (const point of points) {
      display.moveTo(point);
      await sleep(DWELL_MS);
      const found = display.pointer();
      drag.steps.push([point.x, point.y, found.x, found.y]);
    }
    drag.end = now();
  } finally {
    await guard?.release();
  }
  drags.push(drag);
  await sleep(1 + Math.random() * 4); // room for the others between drags
}

await mouse.close();
display.close();
console.log(
  JSON.stringify({
    type: "result",
    bot,
    runtime: runtime.name,
    pid: process.pid,
    shape,
    mode,
    drags,
  }),
);
