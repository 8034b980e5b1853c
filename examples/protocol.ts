/**
 * What a bot tells the driver: one JSON object per line on stdout.
 *
 * @module
 */

import type { DeskLock } from "./desk.ts";

/** A bot's report. */
export type BotEvent =
  /** Started and waiting at the gate. */
  | { type: "ready"; bot: string; pid: number }
  /** One turn at one lock (nested turns report separately, inner first). */
  | {
    type: "turn";
    bot: string;
    lock: DeskLock;
    /** When the lock was taken, ms since the epoch. */
    at: number;
    /** How long the acquire waited, ms. */
    waited: number;
    /** How long the lock was held, ms. */
    held: number;
    /** What the bot did with it, in words. */
    did: string;
  }
  /** A turn found someone else's pid in the owner word. */
  | { type: "overlap"; bot: string; lock: DeskLock; message: string }
  /** Finished. */
  | { type: "done"; bot: string; turns: number; overlaps: number };

/** Milliseconds since the epoch with sub-ms precision, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Writes `event` as one line on stdout. */
export function emit(event: BotEvent): void {
  console.log(JSON.stringify(event));
}

/** The event on `line`, or `null` when the line is not one (stray output). */
export function parseEvent(line: string): BotEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const event = JSON.parse(line) as BotEvent;
    return typeof event.type === "string" ? event : null;
  } catch {
    return null;
  }
}
