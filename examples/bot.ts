/**
 * One desktop-automation bot: focuses windows, clicks, copies and pastes,
 * taking the desk's locks for each step and reporting every turn to the
 * driver as a JSON line. Uses only the public API; Deno needs only
 * `--allow-ffi`.
 *
 * Usage: bot.ts NAME DIR SEED
 *
 * @module
 */

import process from "node:process";
import {
  activeWindow,
  click,
  clipboardText,
  closeDesk,
  type DeskLock,
  openDesk,
  ownerOf,
  setActiveWindow,
  setClipboardText,
} from "./desk.ts";
import { openGate, readSchedule } from "./gate.ts";
import { emit, now } from "./protocol.ts";

const [bot, dir, seed] = process.argv.slice(2);
if (bot === undefined || dir === undefined) {
  throw new Error("usage: bot.ts NAME DIR [SEED]");
}
const WINDOWS = ["Editor", "Browser", "Terminal", "Mail", "Café menu"];

const random = mulberry32(Number(seed ?? 1));
const pick = <T>(items: readonly T[]): T =>
  items[Math.floor(random() * items.length)];
const between = (low: number, high: number) => low + random() * (high - low);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quote = (text: string) => JSON.stringify(text);

let turns = 0;
let overlaps = 0;
const overlap = (lock: DeskLock, message: string) => {
  overlaps++;
  emit({ type: "overlap", bot, lock, message });
};
const pid = process.pid;
const desk = openDesk(dir, { pid, onOverlap: overlap });

/**
 * One turn at `lock`: waits for it, lets `work` use the shared memory, and
 * reports the turn. The hooks stamp and clear the owner word around it; here
 * we check nobody changed it while we worked.
 */
async function turn(
  lock: DeskLock,
  work: (memory: Uint8Array) => Promise<string>,
): Promise<void> {
  const asked = now();
  let at: number;
  let did: string;
  {
    await using guard = await desk[lock].acquire({ timeout: 15_000 });
    at = now();
    did = await work(guard.memory);
    const owner = ownerOf(guard.memory);
    if (owner !== pid) overlap(lock, `owner word became ${owner} mid-turn`);
  }
  turns++;
  emit({
    type: "turn",
    bot,
    lock,
    at,
    waited: at - asked,
    held: now() - at,
    did,
  });
}

/** Bring a window to the front. */
async function focus(): Promise<void> {
  const target = pick(WINDOWS);
  await turn("window", async (memory) => {
    const was = activeWindow(memory);
    setActiveWindow(memory, target);
    await sleep(between(15, 60)); // the window manager settling
    return was === target
      ? `focus ${quote(target)} (already in front)`
      : `focus ${quote(target)} (was ${quote(was || "desktop")})`;
  });
}

/** Click somewhere in whatever window is in front: window, then mouse. */
async function clickInWindow(): Promise<void> {
  await turn("window", async (windowMemory) => {
    const window = activeWindow(windowMemory) || "desktop";
    let number = 0;
    await turn("mouse", async (memory) => {
      const x = Math.round(between(0, 1920));
      const y = Math.round(between(0, 1080));
      number = click(memory, x, y);
      await sleep(between(10, 40)); // move, press, release
      return `click #${number} at (${x}, ${y}) in ${quote(window)}`;
    });
    return `keep ${quote(window)} in front for click #${number}`;
  });
}

/** Put text on the clipboard. */
async function copy(): Promise<void> {
  const text = `${bot} note #${turns + 1} ✓`;
  await turn("clipboard", async (memory) => {
    const was = clipboardText(memory);
    setClipboardText(memory, text);
    await sleep(between(5, 25));
    return `copy ${quote(text)} (replacing ${quote(was)})`;
  });
}

/** Paste the clipboard into the front window: window, then clipboard. */
async function paste(): Promise<void> {
  await turn("window", async (windowMemory) => {
    const window = activeWindow(windowMemory) || "desktop";
    let text = "";
    await turn("clipboard", async (memory) => {
      text = clipboardText(memory);
      await sleep(between(5, 15));
      return `read ${quote(text)} for a paste`;
    });
    await sleep(between(10, 40)); // typing it in
    return `paste ${quote(text)} into ${quote(window)}`;
  });
}

const ACTIONS = [focus, clickInWindow, clickInWindow, copy, paste];

const gate = openGate(dir);
emit({ type: "ready", bot, pid });
const schedule = await gate.run(readSchedule);
await gate.close();
await sleep(Math.max(0, schedule.start - now()));
while (now() < schedule.stop) {
  await sleep(between(150, 700)); // thinking, or waiting for the app
  if (now() >= schedule.stop) break;
  await pick(ACTIONS)();
}
await closeDesk(desk);
emit({ type: "done", bot, turns, overlaps });
process.exitCode = overlaps === 0 ? 0 : 1;

/** A small seeded PRNG, so each bot's run is reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
