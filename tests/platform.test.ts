import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  LINUX_AARCH64,
  LINUX_X86_64,
  posixConstants,
} from "../src/ffi/posix_constants.ts";
import { OsError } from "../src/ffi/platform.ts";
import {
  posixOnly,
  RUNTIME,
  startFixture,
  tempDir,
  WINDOWS,
} from "./helpers.ts";

const platform = currentPlatform();
const processArch =
  (globalThis as { Deno?: { build: { arch: string } } }).Deno?.build.arch ??
    ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[
      process.arch
    ];

test("the constant table is the one for this exact OS and architecture", () => {
  assert.equal(platform.table, `${platform.os}-${processArch}`);
  if (platform.os === "linux") {
    const expected = processArch === "aarch64" ? LINUX_AARCH64 : LINUX_X86_64;
    assert.equal(posixConstants("linux", platform.arch), expected);
    // On aarch64 the x86_64 O_NOFOLLOW bit means O_LARGEFILE: the tables must differ.
    assert.notEqual(LINUX_AARCH64.O_NOFOLLOW, LINUX_X86_64.O_NOFOLLOW);
  }
});

test("statPath and statHandle agree on identity, kind, size and links", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "file");
    writeFileSync(path, "hello");
    const byPath = platform.statPath(path)!;
    const handle = platform.openFile(path, false, 0o600);
    try {
      const byHandle = platform.statHandle(handle);
      assert.deepEqual(byHandle, byPath);
      assert.equal(byPath.kind, "file");
      assert.equal(byPath.size, 5);
      assert.equal(byPath.links, 1);
    } finally {
      platform.close(handle);
    }
    assert.equal(platform.statPath(join(dir.path, "missing")), null);
    assert.equal(platform.statPath(dir.path)!.kind, "directory");
  } finally {
    dir.remove();
  }
});

test(
  "openFile creates with exactly the mode asked, despite the umask",
  posixOnly("Windows files take their directory's ACL, not a mode"),
  () => {
    const dir = tempDir();
    try {
      for (const mode of [0o600, 0o640, 0o666]) {
        const path = join(dir.path, `m${mode.toString(8)}`);
        const handle = platform.openFile(path, true, mode);
        platform.close(handle);
        assert.equal(platform.statPath(path)!.mode, mode);
      }
      // No temporary file is left behind by the create-then-link dance.
      assert.equal(platform.statPath(join(dir.path, ".m600.XXXXXX")), null);
    } finally {
      dir.remove();
    }
  },
);

test(
  "openFile refuses a symlink with ELOOP and never touches its target",
  posixOnly("symlinks need privileges on Windows and are stubs under Wine"),
  () => {
    const dir = tempDir();
    try {
      const target = join(dir.path, "target");
      writeFileSync(target, "keep");
      const link = join(dir.path, "link");
      symlinkSync(target, link);
      assert.throws(
        () => platform.openFile(link, true, 0o600),
        (e: unknown) =>
          e instanceof OsError && e.code === "ELOOP" && e.path === link,
      );
      assert.equal(platform.statPath(target)!.size, 4);
    } finally {
      dir.remove();
    }
  },
);

test("readFile returns a file's exact bytes, null when missing, EISDIR for a directory", () => {
  const dir = tempDir();
  try {
    // Larger than one first read (64 KiB): the loop must read and grow on.
    const big = new Uint8Array(200_000).map((_, i) => (i * 31 + 7) & 0xff);
    const bigPath = join(dir.path, "big");
    writeFileSync(bigPath, big);
    assert.deepEqual(platform.readFile(bigPath), big);
    const emptyPath = join(dir.path, "empty");
    writeFileSync(emptyPath, "");
    assert.deepEqual(platform.readFile(emptyPath), new Uint8Array(0));
    const exact = join(dir.path, "exactly-64k");
    writeFileSync(exact, big.subarray(0, 65536));
    assert.deepEqual(platform.readFile(exact), big.subarray(0, 65536));

    assert.equal(platform.readFile(join(dir.path, "missing")), null);
    assert.equal(platform.readFile(join(dir.path, "no", "missing")), null);
    // A file where a directory should be: ENOTDIR, which is "not there" too.
    assert.equal(platform.readFile(join(bigPath, "under-a-file")), null);

    const sub = join(dir.path, "sub");
    mkdirSync(sub);
    assert.throws(
      () => platform.readFile(sub),
      (e: unknown) =>
        e instanceof OsError && e.code === "EISDIR" && e.path === sub &&
        e.message.includes(sub),
    );
  } finally {
    dir.remove();
  }
});

test(
  "readFile reads a procfs file, which stats as size 0, to its end",
  { skip: process.platform !== "linux" && "procfs is Linux" },
  () => {
    assert.equal(statSync("/proc/self/status").size, 0);
    const text = new TextDecoder().decode(
      platform.readFile("/proc/self/status")!,
    );
    assert.match(text, /^Name:/);
    assert.match(text, new RegExp(`^Pid:\\s+${process.pid}$`, "m"));
  },
);

test("tryLock excludes a second open file description; unlock lets it in", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "x.lock");
    const a = platform.openFile(path, true, 0o600);
    const b = platform.openFile(path, false, 0o600);
    try {
      assert.equal(platform.tryLock(a), true);
      assert.equal(platform.tryLock(b), false);
      assert.equal(platform.tryLock(b, true), false);
      platform.unlock(a);
      assert.equal(platform.tryLock(b), true);
      platform.unlock(b);
    } finally {
      platform.close(a);
      platform.close(b);
    }
  } finally {
    dir.remove();
  }
});

test(
  "holdDirectory keeps a shared flock on the directory until closed; null for a missing one",
  posixOnly("Windows has no directory locks (holdDirectory is null there)"),
  () => {
    const dir = tempDir();
    // What systemd-tmpfiles tries before cleaning a directory.
    const cleanerCanLock = () =>
      spawnSync("flock", ["-n", "-x", dir.path, "true"]).status === 0;
    try {
      const held = platform.holdDirectory(dir.path);
      assert.notEqual(held, null);
      const again = platform.holdDirectory(dir.path); // shared: both get it
      assert.notEqual(again, null);
      assert.equal(cleanerCanLock(), false);
      platform.close(held!);
      assert.equal(cleanerCanLock(), false);
      platform.close(again!);
      assert.equal(cleanerCanLock(), true);
      assert.equal(platform.holdDirectory(join(dir.path, "missing")), null);
      const file = join(dir.path, "file");
      writeFileSync(file, "");
      assert.equal(platform.holdDirectory(file), null);
    } finally {
      dir.remove();
    }
  },
);

test("map, write, flush and read back through the file", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "data");
    const handle = platform.openFile(path, true, 0o600);
    try {
      platform.extend(handle, 4096);
      assert.equal(platform.statHandle(handle).size, 4096);
      const mapping = platform.map(handle, 4096);
      const view = new Uint8Array(mapping.buffer(100, 4));
      view.set([1, 2, 3, 4]);
      platform.flush(mapping);
      (view.buffer as ArrayBuffer).transfer(0);
      platform.unmap(mapping);
      const back = new Uint8Array(4);
      assert.equal(platform.readAt(handle, back, 100), 4);
      assert.deepEqual([...back], [1, 2, 3, 4]);
    } finally {
      platform.close(handle);
    }
  } finally {
    dir.remove();
  }
});

test("processAlive knows this process and not a dead pid", () => {
  assert.equal(platform.processAlive(platform.pid()), true);
  assert.equal(platform.processAlive(2 ** 22 + 12345), false);
  assert.equal(platform.pid(), process.pid);
});

test("a sleep on a shared word returns at once if the word already changed, else sleeps", () => {
  const dir = tempDir();
  try {
    const handle = platform.openFile(join(dir.path, "words"), true, 0o600);
    platform.extend(handle, 4096);
    const mapping = platform.map(handle, 4096);
    try {
      const words = new Int32Array(mapping.buffer(0, 64));
      words[4] = 7;
      let start = performance.now();
      platform.waitSync(
        { lockPath: "", mapping, offset: 16, expected: 8 },
        2_000,
      );
      assert.ok(
        performance.now() - start < 1_000,
        "a stale expected value must not sleep",
      );
      start = performance.now();
      platform.waitSync({ lockPath: "", mapping, offset: 16, expected: 7 }, 60);
      const slept = performance.now() - start;
      assert.ok(slept >= 40, `slept only ${slept} ms`);
      (words.buffer as ArrayBuffer).transfer(0);
    } finally {
      platform.unmap(mapping);
      platform.close(handle);
    }
  } finally {
    dir.remove();
  }
});

test(
  "another process's wake ends a sleep on a shared word (SYS_futex of this arch)",
  {
    skip: WINDOWS
      ? "futex words are Linux; tests/windows.test.ts covers Windows wake-ups"
      : !platform.wakeups && "no kernel wake-ups on this platform",
  },
  async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, "words");
      const handle = platform.openFile(file, true, 0o600);
      platform.extend(handle, 4096);
      const mapping = platform.map(handle, 4096);
      const child = startFixture(RUNTIME, "wake.ts", [file, "16", "200"]);
      try {
        await child.waitFor("ready");
        const words = new Int32Array(mapping.buffer(0, 64));
        const start = performance.now();
        platform.waitSync(
          {
            lockPath: "",
            mapping,
            offset: 16,
            expected: Atomics.load(words, 4),
          },
          20_000,
        );
        const slept = performance.now() - start;
        assert.ok(slept < 15_000, `not woken: slept ${slept} ms`);
        assert.ok(Atomics.load(words, 4) >= 1);
        (words.buffer as ArrayBuffer).transfer(0);
      } finally {
        child.process.kill();
        await child.exited;
        platform.unmap(mapping);
        platform.close(handle);
      }
    } finally {
      dir.remove();
    }
  },
);

test("now() is the wall clock to within a tick, and moves forward", async () => {
  const samples: [number, number, number][] = [];
  for (let i = 0; i < 5; i++) {
    const before = Date.now();
    const now = platform.now();
    samples.push([before, now, Date.now()]);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  for (const [before, now, after] of samples) {
    // A coarse clock lags by at most a tick (≤ 10 ms); it never runs ahead.
    assert.ok(
      now >= before - 20 && now <= after + 1,
      `${before} ${now} ${after}`,
    );
    assert.ok(Number.isFinite(now));
  }
  assert.ok(samples[4][1] - samples[0][1] >= 100, "it advanced");
});
