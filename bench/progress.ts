/**
 * Progress of a long run on stderr: what it is doing and how far along it
 * is. On a terminal one line rewrites itself in place; elsewhere (CI, a
 * pipe, a file) each step is one plain line and in-between updates are
 * left out, so logs stay short. Used by bench/run.ts and stress/run.ts.
 *
 * @module
 */

import process from "node:process";
import { clearInterval, setInterval } from "node:timers";

/** Where progress goes: stderr unless told otherwise (tests). */
export interface ProgressSink {
  /** Writes text as is. */
  write(text: string): unknown;
  /** True on a terminal: the line is rewritten in place. */
  readonly isTTY?: boolean;
  /** Terminal width, when known. */
  readonly columns?: number;
}

/** `m:ss` for a duration in ms. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A progress line: steps counted against an expected total. */
export class Progress {
  readonly #label: string;
  readonly #sink: ProgressSink;
  readonly #started = performance.now();
  #total: number;
  #done = 0;
  #step = "";
  #detail = "";
  #shown = false;
  #ticker: NodeJS.Timeout | undefined;

  /**
   * `label` prefixes every line (e.g. `bench`); `total` is the expected
   * number of steps (0: unknown, no count shown).
   */
  constructor(label: string, total = 0, sink: ProgressSink = process.stderr) {
    this.#label = label;
    this.#total = total;
    this.#sink = sink;
    if (this.live) {
      // The elapsed time moves on a terminal even while a step is long.
      this.#ticker = setInterval(() => {
        if (this.#shown) this.#draw();
      }, 1000);
      this.#ticker.unref();
    }
  }

  /** True when the line rewrites itself (a terminal). */
  get live(): boolean {
    return this.#sink.isTTY === true;
  }

  /** Starts the next step: counts it and shows `message` (a plain line off a terminal). */
  step(message: string): void {
    this.#done++;
    if (this.#done > this.#total && this.#total > 0) this.#total = this.#done;
    this.#step = message;
    this.#detail = "";
    if (this.live) this.#draw();
    else this.#sink.write(`${this.#line()}\n`);
  }

  /**
   * Updates the current step's detail (e.g. `12 s of 30 s`): rewrites the
   * line on a terminal; off a terminal prints it only when `plain` is true.
   */
  update(detail: string, plain = false): void {
    this.#detail = detail;
    if (this.live) this.#draw();
    else if (plain) this.#sink.write(`${this.#line()}\n`);
  }

  /** Prints a line of its own, above the progress line. */
  log(text: string): void {
    if (this.live && this.#shown) this.#sink.write("\r\x1b[2K");
    this.#sink.write(text.endsWith("\n") ? text : `${text}\n`);
    if (this.live && this.#shown) this.#draw();
  }

  /** Removes the progress line (a terminal) and prints `final`, if given. */
  finish(final?: string): void {
    clearInterval(this.#ticker);
    if (this.live && this.#shown) this.#sink.write("\r\x1b[2K");
    this.#shown = false;
    if (final !== undefined) this.#sink.write(`[${this.#label}] ${final}\n`);
  }

  #line(): string {
    const count = this.#total > 0
      ? ` ${this.#done}/${this.#total} (${
        Math.floor(100 * Math.min(this.#done - 1, this.#total) / this.#total)
      } %)`
      : "";
    const detail = this.#detail === "" ? "" : ` — ${this.#detail}`;
    return `[${this.#label}]${count} ${
      clock(performance.now() - this.#started)
    } ${this.#step}${detail}`;
  }

  #draw(): void {
    const width = Math.max(20, (this.#sink.columns || 100) - 1);
    let line = this.#line();
    if (line.length > width) line = `${line.slice(0, width - 1)}…`;
    this.#sink.write(`\r\x1b[2K${line}`);
    this.#shown = true;
  }
}
