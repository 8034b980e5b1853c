import { test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  LINUX_AARCH64,
  LINUX_X86_64,
  posixConstants,
} from "../src/ffi/posix/constants.ts";
import { OsError } from "../src/ffi/platform.ts";
import {
  fixture,
  posixOnly,
  run,
  RUNTIME,
  runtimeCommand,
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
      // No temporary file is left behind by the create-then-publish dance.
      assert.deepEqual(readdirSync(dir.path).sort(), ["m600", "m640", "m666"]);
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

test(
  "openFile creates a file with one link and its mode, and opens (never replaces) an existing one",
  posixOnly("Windows files take their directory's ACL, not a mode"),
  () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, "data");
      const created = platform.openFile(path, true, 0o640);
      const again = platform.openFile(path, true, 0o600);
      try {
        const status = platform.statHandle(created);
        assert.equal(status.links, 1);
        assert.equal(status.mode, 0o640);
        assert.deepEqual(platform.statHandle(again).id, status.id);
        assert.equal(platform.statPath(path)!.mode, 0o640, "mode kept");
      } finally {
        platform.close(created);
        platform.close(again);
      }
      assert.deepEqual(readdirSync(dir.path), ["data"]);
    } finally {
      dir.remove();
    }
  },
);

/** Whether strace can trace a child here (installed, ptrace allowed). */
const straceWorks = process.platform === "linux" &&
  spawnSync("strace", ["-qq", "-o", "/dev/null", "true"]).status === 0;
const straceOnly = {
  skip: process.platform !== "linux"
    ? "renameat2 is Linux"
    : !straceWorks && "needs strace (and ptrace)",
};

/**
 * Runs the create_file fixture for `path` under strace (with `inject`, e.g.
 * `renameat2:error=EINVAL`), returning its output and the traced calls on
 * names in `path`'s directory.
 */
async function traceCreate(
  path: string,
  inject?: string,
): Promise<{ created: { links: number; mode: number }; calls: string[] }> {
  const trace = `${path}.trace`;
  const [command, argv] = runtimeCommand(RUNTIME, fixture("create_file.ts"), [
    path,
    "640",
  ]);
  const result = await run("strace", [
    "-f",
    "-qq",
    "-o",
    trace,
    "-e",
    "trace=renameat2,link,linkat,unlink,unlinkat",
    ...(inject === undefined ? [] : ["-e", `inject=${inject}`]),
    command,
    ...argv,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const directory = JSON.stringify(dirname(path)).slice(0, -1);
  const calls = readFileSync(trace, "utf8").split("\n")
    .filter((line) => line.includes(directory))
    // "1234 renameat2(…) = 0" → "renameat2(…) = 0"
    .map((line) => line.replace(/^\d+\s+/, ""));
  return { created: JSON.parse(result.stdout), calls };
}

test(
  "openFile on Linux publishes a new file with renameat2(RENAME_NOREPLACE): it never has a second name",
  straceOnly,
  async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, "data");
      const { created, calls } = await traceCreate(path);
      assert.deepEqual(created, { links: 1, mode: 0o640 });
      const temporary = `"${join(dir.path, ".memshare-")}\\w{6}"`;
      assert.equal(calls.length, 1, calls.join("\n"));
      assert.match(
        calls[0],
        new RegExp(
          `^renameat2\\(AT_FDCWD, ${temporary}, AT_FDCWD, "${path}", RENAME_NOREPLACE\\) = 0$`,
        ),
      );
      // No link(), and the temporary name (no longer ours) is not unlinked.
      assert.deepEqual(readdirSync(dir.path).sort(), ["data", "data.trace"]);
    } finally {
      dir.remove();
    }
  },
);

test(
  "openFile falls back to link + unlink where renameat2 lacks RENAME_NOREPLACE (EINVAL) or is missing (ENOSYS)",
  straceOnly,
  async () => {
    const dir = tempDir();
    try {
      for (const errno of ["EINVAL", "ENOSYS"]) {
        const path = join(dir.path, errno);
        const { created, calls } = await traceCreate(
          path,
          `renameat2:error=${errno}`,
        );
        assert.deepEqual(created, { links: 1, mode: 0o640 });
        const names = calls.map((call) => call.replace(/\(.*/, ""));
        assert.deepEqual(
          names.map((name) => name.replace(/at$/, "")),
          ["renameat2", "link", "unlink"],
          calls.join("\n"),
        );
        assert.match(calls[0], new RegExp(`= -1 ${errno} .*\\(INJECTED\\)$`));
        assert.match(calls[1], new RegExp(`"${path}".*\\) = 0$`));
        assert.match(calls[2], /\.memshare-\w{6}".*\) = 0$/);
      }
      assert.deepEqual(readdirSync(dir.path).sort(), [
        "EINVAL",
        "EINVAL.trace",
        "ENOSYS",
        "ENOSYS.trace",
      ]);
    } finally {
      dir.remove();
    }
  },
);

test(
  "errors on a socket and a FIFO are named: ENXIO (EOPNOTSUPP on macOS) and ESPIPE",
  posixOnly("no UNIX sockets or FIFOs at a path on Windows"),
  async () => {
    const dir = tempDir();
    const server = createServer();
    try {
      const socket = join(dir.path, "socket");
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socket, resolve);
      });
      for (const create of [false, true]) {
        assert.throws(
          () => platform.openFile(socket, create, 0o600),
          (e: unknown) =>
            e instanceof OsError && e.syscall === "open" &&
            e.path === socket &&
            e.code === (platform.os === "darwin" ? "EOPNOTSUPP" : "ENXIO"),
        );
      }

      const fifo = join(dir.path, "fifo");
      assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
      // Opened read-write and non-blocking, a FIFO opens; it cannot be read at an offset.
      const handle = platform.openFile(fifo, false, 0o600);
      try {
        assert.throws(
          () => platform.readAt(handle, new Uint8Array(4), 0),
          (e: unknown) =>
            e instanceof OsError && e.syscall === "pread" &&
            e.code === "ESPIPE",
        );
      } finally {
        platform.close(handle);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
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

test(
  "tryLock and lock report flock's own errors (EBADF for a closed fd) at once",
  posixOnly("kernel32 handles are checked by tests/windows.test.ts"),
  () => {
    for (
      const call of [
        () => platform.tryLock(1 << 20),
        () => platform.lock!(1 << 20),
      ]
    ) {
      assert.throws(
        call,
        (e: unknown) =>
          e instanceof OsError && e.code === "EBADF" && e.syscall === "flock",
      );
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
