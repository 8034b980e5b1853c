/**
 * macOS kernel wake-ups (`src/ffi/darwin/address_waits.ts`): which
 * interface is chosen, and that waits sleep until woken — by another
 * process too — or for their timeout, without blocking the event loop or
 * keeping a finished script alive.
 *
 * Off macOS there is no libSystem: the tests build a stand-in,
 * `fixtures/darwin_shim.c` (the same symbols and conventions over the Linux
 * futex; its header says what it does not model), with the C compiler, and
 * skip when there is none. On a Mac the behaviour tests run against
 * libSystem itself.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { currentPlatform } from "../src/ffi/current.ts";
import type { DarwinWaits } from "../src/ffi/darwin/address_waits.ts";
import type { DarwinWaitApi } from "../src/ffi/darwin/wait_api.ts";
import {
  type Child,
  fixture,
  RUNTIME,
  sleep,
  startFixture,
  tempDir,
} from "./helpers.ts";
import { libcPath, openDarwinWaits } from "./fixtures/darwin_open.ts";

const MAC = process.platform === "darwin";
const LINUX = process.platform === "linux";
/** Generous: every child process start costs up to a second or two here. */
const timeout = 60_000;

const dir = tempDir();

/** The first C compiler found, or `undefined`. */
function compiler(): string | undefined {
  for (const cc of ["cc", "gcc", "clang"]) {
    if (spawnSync(cc, ["--version"], { stdio: "ignore" }).status === 0) {
      return cc;
    }
  }
  return undefined;
}

/** Builds the stand-in with `defines` into the temp dir; returns its path. */
function buildShim(cc: string, name: string, defines: string[]): string {
  const out = join(dir.path, `${name}.so`);
  const result = spawnSync(cc, [
    "-shared",
    "-fPIC",
    "-O2",
    ...defines,
    "-o",
    out,
    fixture("darwin_shim.c"),
  ], { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${cc} failed on darwin_shim.c: ${result.stderr}`);
  }
  return out;
}

const cc = LINUX ? compiler() : undefined;
/** Why the stand-in tests skip, or false. */
const noShim = !LINUX
  ? "the libSystem stand-in is built on the Linux futex: Linux only"
  : cc === undefined &&
    "no C compiler (cc, gcc or clang) to build the libSystem stand-in";
const shims = noShim === false && cc !== undefined
  ? {
    full: buildShim(cc, "full", []),
    ulock: buildShim(cc, "ulock", ["-DONLY_ULOCK"]),
    none: buildShim(cc, "none", ["-DNONE"]),
  }
  : undefined;

/** A page of a shared file mapping, for wait words; its words start at 0. */
function sharedPage(name: string): {
  file: string;
  words: Int32Array;
  address: number;
} {
  const platform = currentPlatform();
  const file = join(dir.path, name);
  const handle = platform.openFile(file, true, 0o600);
  platform.extend(handle, 4096);
  const mapping = platform.map(handle, 4096);
  return {
    file,
    words: new Int32Array(mapping.buffer(0, 4096)),
    address: (mapping as unknown as { address: number }).address,
  };
}

/** Milliseconds `fn` takes. */
function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** Milliseconds `promise` takes to settle. */
async function timedAsync(promise: Promise<void>): Promise<number> {
  const start = performance.now();
  await promise;
  return performance.now() - start;
}

/** Runs `fn` with a child waking the word at `offset` of `file` every 20 ms. */
async function withWaker(
  library: string,
  file: string,
  offset: number,
  bump: "bump" | "same",
  fn: () => void | Promise<void>,
): Promise<void> {
  const child: Child = startFixture(RUNTIME, "darwin_waker.ts", [
    library,
    file,
    String(offset),
    "20",
    bump,
  ]);
  try {
    await child.waitFor("ready");
    await fn();
  } finally {
    child.process.kill();
    await child.exited;
  }
}

// Everything in one describe: Deno runs a top-level after() hook only in
// some layouts, a describe's always.
describe("macOS waits", () => {
  after(() => dir.remove());

  // --------------------------------------------------------------- selection

  describe("the interface is chosen at run time", { skip: noShim }, () => {
    test("os_sync_wait_on_address where the library has it", () => {
      assert.equal(openDarwinWaits(shims!.full)?.api, "os_sync");
    });

    test("__ulock_wait where it is all the library has", () => {
      assert.equal(openDarwinWaits(shims!.ulock)?.api, "ulock");
    });

    test("nothing where the library has neither: the caller polls", () => {
      assert.equal(openDarwinWaits(shims!.none), undefined);
      assert.equal(openDarwinWaits(libcPath()), undefined); // glibc or musl
    });

    test("nothing off macOS, whatever the library has", () => {
      assert.equal(openDarwinWaits(shims!.full, "linux"), undefined);
    });
  });

  test("on macOS itself, libSystem has one, and the platform wakes", {
    skip: !MAC && "macOS only",
  }, () => {
    assert.ok(["os_sync", "ulock"].includes(openDarwinWaits("-")?.api ?? ""));
    assert.equal(currentPlatform().wakeups, true);
  });

  // --------------------------------------------------------------- behaviour

  /** The libraries to test the waits over: the stand-in's two interfaces, or libSystem. */
  const targets: { api: DarwinWaitApi | "libSystem"; library: string }[] = MAC
    ? [{ api: "libSystem", library: "-" }]
    : shims === undefined
    ? []
    : [{ api: "os_sync", library: shims.full }, {
      api: "ulock",
      library: shims.ulock,
    }];

  if (targets.length === 0) {
    // Said in the name: neither runtime prints a skip's reason.
    test(`waits (skipped: ${noShim || "not macOS"})`, { skip: true }, () => {});
  }

  for (const { api, library } of targets) {
    describe(`waits over ${api}`, { timeout }, () => {
      let opened: DarwinWaits | undefined;
      /** One instance for every test, as a realm has one. */
      const waits = (): DarwinWaits => {
        opened ??= openDarwinWaits(library);
        assert.ok(opened !== undefined, `no wait functions in ${library}`);
        return opened;
      };
      const page = sharedPage(`${api}.words`);
      let next = 0;
      /** A fresh word of the page: its offset, address and current value. */
      const word = () => {
        const offset = 4 * next++;
        return {
          offset,
          address: page.address + offset,
          expected: Atomics.load(page.words, offset / 4),
        };
      };

      test("waitSync sleeps for its timeout when nobody wakes it", () => {
        const w = word();
        const took = timed(() => waits().waitSync(w.address, w.expected, 100));
        assert.ok(took >= 90 && took < 3_000, `took ${took} ms`);
      });

      test("waitSync returns at once when the word already differs", () => {
        const w = word();
        const took = timed(() =>
          waits().waitSync(w.address, w.expected + 1, 20_000)
        );
        assert.ok(took < 2_000, `took ${took} ms`);
      });

      test("waitSync and a zero timeout: no wait at all", () => {
        const w = word();
        const took = timed(() => waits().waitSync(w.address, w.expected, 0));
        assert.ok(took < 1_000, `took ${took} ms`);
      });

      test("waitSync is woken by another process's wake", async () => {
        const w = word();
        const sleeper = waits();
        // The child wakes without changing the word: only the wake can end
        // this sleep before its 20 s.
        await withWaker(library, page.file, w.offset, "same", () => {
          const took = timed(() =>
            sleeper.waitSync(w.address, w.expected, 20_000)
          );
          assert.ok(took < 10_000, `took ${took} ms`);
        });
        assert.equal(Atomics.load(page.words, w.offset / 4), w.expected);
      });

      test("waitSync is woken by another process's release (bump + wake)", async () => {
        const w = word();
        const sleeper = waits();
        await withWaker(library, page.file, w.offset, "bump", () => {
          const took = timed(() =>
            sleeper.waitSync(w.address, w.expected, 20_000)
          );
          assert.ok(took < 10_000, `took ${took} ms`);
        });
        assert.notEqual(Atomics.load(page.words, w.offset / 4), w.expected);
      });

      test("waitAny times out, and the event loop runs meanwhile", async () => {
        const w = word();
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        try {
          const took = await timedAsync(waits().waitAny([w], 300));
          assert.ok(took >= 250 && took < 5_000, `took ${took} ms`);
          assert.ok(ticks >= 3, `only ${ticks} timer ticks in ${took} ms`);
        } finally {
          clearInterval(timer);
        }
      });

      test("waitAny with nothing to wait on still times out", async () => {
        const took = await timedAsync(waits().waitAny([], 100));
        assert.ok(took >= 80 && took < 5_000, `took ${took} ms`);
      });

      test("waitAny with a zero timeout resolves at once", async () => {
        const w = word();
        const took = await timedAsync(waits().waitAny([w], 0));
        assert.ok(took < 2_000, `took ${took} ms`);
      });

      test("waitAny is woken by another process's wake", async () => {
        const w = word();
        const sleeper = waits();
        await withWaker(library, page.file, w.offset, "same", async () => {
          const took = await timedAsync(sleeper.waitAny([w], 20_000));
          assert.ok(took < 10_000, `took ${took} ms`);
        });
      });

      test("interrupt() ends a waitAny on nothing (the interrupt word)", async () => {
        const w = waits();
        const done = timedAsync(w.waitAny([], 20_000));
        await sleep(200); // let the sleep reach the kernel
        w.interrupt();
        const took = await done;
        assert.ok(took < 10_000, `took ${took} ms`);
      });

      test("interrupt() ends a waitAny on a lock word", async () => {
        const w = waits();
        const done = timedAsync(w.waitAny([word()], 20_000));
        await sleep(200);
        w.interrupt();
        const took = await done;
        assert.ok(took < 10_000, `took ${took} ms`);
      });

      test("interrupt() before the sleep starts ends it too", async () => {
        const w = waits();
        const done = timedAsync(w.waitAny([], 20_000));
        w.interrupt(); // the interrupt word has moved: the sleep does not start
        const took = await done;
        assert.ok(took < 10_000, `took ${took} ms`);
      });

      test("a waitAny in flight does not keep a finished script alive", async () => {
        const child = startFixture(RUNTIME, "darwin_wait_exit.ts", [
          library,
          "300",
        ]);
        const killer = setTimeout(() => child.process.kill(), 20_000);
        try {
          await child.waitFor("waiting");
          const start = performance.now();
          const { code, signal } = await child.exited;
          const took = performance.now() - start;
          assert.equal(signal, null, "killed: the wait kept it alive");
          assert.equal(code, 0, child.stderr());
          assert.ok(took < 10_000, `exited ${took} ms after its wait began`);
        } finally {
          clearTimeout(killer);
        }
      });
    });
  }
});
