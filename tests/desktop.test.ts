/**
 * Real desktop automation: the desktop example (examples/x11/desktop.ts)
 * run against a throwaway Xvfb. Two Bun bots and one Deno bot drive the X
 * pointer through libX11/libXtst, each reading it back after every step.
 * With the `mouse` lock no drag is disturbed and no two drags overlap in
 * time; the control run (the lock switched off) must show the drags
 * interleaving — pointers found where another bot put them — or the
 * locked run's clean result would prove nothing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunSummary } from "../examples/x11/desktop.ts";
import { XDisplay } from "../examples/x11/xlib.ts";
import {
  type Child,
  ROOT,
  RUNTIME,
  runtimeCommand,
  start,
  tempDir,
  within,
} from "./helpers.ts";
import { startXvfb, type Xvfb } from "./xvfb.ts";

const SCRIPT = join(ROOT, "examples", "x11", "desktop.ts");
/** The whole example: two runs of three bots, start-up included. */
const RUN_MS = 90_000;

interface Output {
  display: string;
  width: number;
  height: number;
  summaries: RunSummary[];
  svg: string;
}

describe("desktop example: bots drive a real X pointer (Xvfb)", {
  skip: process.platform !== "linux" && "X11 through Xvfb: Linux only",
}, () => {
  test(
    "with the mouse lock no drag is disturbed; without it (the control) the drags interleave",
    {
      timeout: RUN_MS + 30_000,
    },
    async () => {
      const dir = tempDir();
      let xvfb: Xvfb | undefined;
      let child: Child | undefined;
      let x: XDisplay | undefined;
      try {
        xvfb = await startXvfb(800, 600);
        // Somewhere none of the paths go: the example must put it back here.
        const home = { x: 7, y: 11 };
        x = new XDisplay(xvfb.display);
        x.moveTo(home);
        const svg = join(dir.path, "paths.svg");
        const [command, argv] = runtimeCommand(
          RUNTIME,
          SCRIPT,
          ["--json", "--svg", svg],
          ["--allow-run", "--allow-read", "--allow-write", "--allow-env"],
        );
        child = start(command, argv, { DISPLAY: xvfb.display });
        const { code, signal } = await within(
          RUN_MS,
          child.exited,
          () => `the example did not finish in ${RUN_MS} ms`,
        );
        assert.equal(
          code,
          0,
          `the example exited ${
            code ?? signal
          }:\n${child.stdout()}\n${child.stderr()}`,
        );
        const output = JSON.parse(
          child.stdout().trim().split("\n").at(-1)!,
        ) as Output;
        assert.deepEqual(x.pointer(), home, "the pointer is put back");

        const [locked, control] = output.summaries;
        const runtimes = (s: RunSummary) => s.bots.map((b) => b.runtime).sort();
        for (const summary of [locked, control]) {
          assert.deepEqual(runtimes(summary), ["bun", "bun", "deno"]);
          for (const bot of summary.bots) {
            assert.equal(bot.drags, 3, `${bot.bot} dragged 3 times`);
            assert.equal(bot.steps, 99, `${bot.bot} read back every step`);
          }
        }
        assert.equal(locked.mode, "lock");
        assert.equal(
          locked.disturbedSteps,
          0,
          `with the lock, no read-back may find the pointer elsewhere:\n${child.stdout()}`,
        );
        assert.equal(
          locked.overlappingDrags,
          0,
          "with the lock, drags in turn",
        );
        assert.equal(control.mode, "nolock");
        assert.ok(
          control.overlappingDrags > 0 && control.disturbedDrags > 0,
          `the control (no lock) must show drags interleaving:\n${child.stdout()}`,
        );

        assert.equal(output.svg, svg);
        assert.ok(child.stdout().includes(`pointer paths: ${svg}`));
        assert.ok(existsSync(svg));
        const picture = readFileSync(svg, "utf8");
        assert.match(picture, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
        assert.match(picture, /<\/svg>\n$/);
        // A path per drag: 2 runs x 3 bots x 3 drags.
        assert.equal(picture.match(/<polyline /g)?.length, 18);
        assert.ok(picture.includes("With the mouse lock"));
        assert.ok(picture.includes("Control: the lock switched off"));
      } finally {
        // Before the server goes: Xlib exits the process when its server dies.
        x?.close();
        if (child !== undefined && child.process.exitCode === null) {
          child.process.kill("SIGKILL");
          await child.exited;
        }
        await xvfb?.stop();
        dir.remove();
      }
    },
  );
});
