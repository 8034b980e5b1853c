/**
 * The status CLI, run as a subprocess of the runtime running the tests
 * (Deno with `--allow-ffi --allow-read` only): what it reports, that looking
 * never disturbs a lock, and its errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { MemoryShareLock } from "../mod.ts";
import {
  type Child,
  ROOT,
  run,
  RUNTIME,
  runtimeCommand,
  sleep,
  start,
  startFixture,
  tempDir,
} from "./helpers.ts";

/** One lock as `status --json` prints it (the fields these tests read). */
interface LockJson {
  name: string;
  tag: string | null;
  length: number | null;
  locked: boolean;
  holderPid: number | null;
  holderAlive: boolean | null;
  heldMs: number | null;
  acquisitions: number | null;
  lockedBy: string | null;
}

const CLI = join(ROOT, "cli.ts");

function cliCommand(args: string[]): [string, string[]] {
  return runtimeCommand(RUNTIME, CLI, args, ["--allow-read"]);
}

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(args);
  return await run(command, argv, env);
}

/** Runs `status --json`, expecting success, and returns the locks by name. */
async function status(
  dir: string | null,
  env: Record<string, string> = {},
): Promise<Map<string, LockJson>> {
  const out = await cli(
    ["status", "--json", ...(dir === null ? [] : ["--dir", dir])],
    env,
  );
  assert.equal(out.code, 0, out.stderr);
  const locks = JSON.parse(out.stdout) as LockJson[];
  return new Map(locks.map((lock) => [lock.name, lock]));
}

/** Starts the holder fixture on `name` and waits until it holds the lock. */
async function holder(name: string, dir: string): Promise<[Child, number]> {
  const child = startFixture(RUNTIME, "cli_holder.ts", [name, dir]);
  await child.waitFor('"held":true');
  const line = child.stdout().split("\n").find((l) => l.includes('"held"'))!;
  return [child, (JSON.parse(line) as { pid: number }).pid];
}

test("status --json reports held and free locks, and looking disturbs neither", async () => {
  const dir = tempDir();
  const window = new MemoryShareLock("window", {
    length: 8,
    dir: dir.path,
    tagName: "window focus",
  });
  const mouse = new MemoryShareLock("mouse", { length: 24, dir: dir.path });
  let child: Child | undefined;
  try {
    await window.run((memory) => void (memory[0] = 1));
    const [started, pid] = await holder("mouse", dir.path);
    child = started;
    const dataBefore = readFileSync(join(dir.path, "mouse"));

    const locks = await status(dir.path);
    assert.deepEqual([...locks.keys()], ["mouse", "window"]);
    const held = locks.get("mouse")!;
    assert.equal(held.locked, true);
    assert.equal(held.holderPid, pid);
    assert.equal(held.holderAlive, true);
    assert.equal(held.lockedBy, "memshare");
    assert.equal(held.tag, "cli test holder");
    assert.equal(held.length, 24);
    assert.equal(held.acquisitions, 1);
    assert.ok(held.heldMs !== null && held.heldMs >= 0);
    const free = locks.get("window")!;
    assert.equal(free.locked, false);
    assert.equal(free.holderPid, null);
    assert.equal(free.tag, "window focus");
    assert.equal(free.acquisitions, 1);

    // Nothing changed: same bytes, the holder still holds, others still wait.
    assert.deepEqual(readFileSync(join(dir.path, "mouse")), dataBefore);
    assert.equal(mouse.tryAcquire(), null);
    child.process.stdin!.write("check\n");
    await child.waitFor('"stillHeld":true');

    child.process.stdin!.write("release\n");
    await child.waitFor("released");
    const guard = mouse.tryAcquire();
    assert.notEqual(guard, null);
    assert.equal(guard!.recovered, false);
    guard!.releaseSync();
    const after = (await status(dir.path)).get("mouse")!;
    assert.equal(after.locked, false);
    assert.equal(after.acquisitions, 2);
  } finally {
    child?.process.stdin?.end();
    await child?.exited;
    await window.close();
    await mouse.close();
    dir.remove();
  }
});

test("the table shows each lock on an aligned line", async () => {
  const dir = tempDir();
  let child: Child | undefined;
  try {
    const [started, pid] = await holder("clipboard", dir.path);
    child = started;
    const out = await cli(["status", "--dir", dir.path]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assert.match(lines[0], /memshare locks in .*: 1 lock, 1 held/);
    assert.match(lines[1], /^ {2}NAME +TAG +LENGTH +LOCKED +HOLDER +ALIVE/);
    assert.match(
      lines[2],
      new RegExp(`^ {2}clipboard +cli test holder +24 +yes +${pid} +yes `),
    );
    // Aligned: the LOCKED column starts at the same offset on every line.
    assert.equal(lines[2].indexOf("yes"), lines[1].indexOf("LOCKED"));
  } finally {
    child?.process.stdin?.end();
    await child?.exited;
    dir.remove();
  }
});

test("a holder that died is shown with its pid, not alive, lock free", async () => {
  const dir = tempDir();
  const lock = new MemoryShareLock("focus", { length: 24, dir: dir.path });
  try {
    const [child, pid] = await holder("focus", dir.path);
    child.process.kill("SIGKILL");
    await child.exited;
    const dead = (await status(dir.path)).get("focus")!;
    assert.equal(dead.locked, false);
    assert.equal(dead.holderPid, pid);
    assert.equal(dead.holderAlive, false);
    // The CLI left recovery to the next holder.
    const guard = lock.tryAcquire();
    assert.equal(guard?.recovered, true);
    guard!.releaseSync();
  } finally {
    await lock.close();
    dir.remove();
  }
});

const hasFlock = process.platform === "linux" &&
  spawnSync("flock", ["--version"]).status === 0;

test("a flock(1) holder, which writes no header, is seen through /proc/locks", {
  skip: !hasFlock && "needs Linux and flock(1)",
}, async () => {
  const dir = tempDir();
  const lockFile = join(dir.path, "legacy.lock");
  // flock(1) holds the lock while `cat` runs; closing its stdin ends both.
  const child = spawn("flock", [lockFile, "-c", "echo held; exec cat"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve) => child.stdout.once("data", resolve));
    const legacy = (await status(dir.path)).get("legacy")!;
    assert.equal(legacy.locked, true);
    assert.equal(legacy.lockedBy, "flock");
    assert.equal(legacy.holderPid, child.pid);
    assert.equal(legacy.tag, null);
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once("close", resolve));
    dir.remove();
  }
});

test("without --dir it reads the default directory, and a missing one lists nothing", async () => {
  const runtimeDir = tempDir();
  const dir = join(runtimeDir.path, "memshare");
  const env = { XDG_RUNTIME_DIR: runtimeDir.path };
  try {
    assert.equal((await status(null, env)).size, 0);
    mkdirSync(dir, { mode: 0o700 });
    const lock = new MemoryShareLock("bot", { length: 8, dir });
    await lock.run(() => {});
    await lock.close();
    const locks = await status(null, env);
    assert.deepEqual([...locks.keys()], ["bot"]);
  } finally {
    runtimeDir.remove();
  }
});

test("a missing --dir or a file is an error: exit 2, one line naming the path", async () => {
  const dir = tempDir();
  try {
    const missing = join(dir.path, "nowhere");
    const file = join(dir.path, "file");
    writeFileSync(file, "not a directory");
    for (
      const [path, words] of [[missing, /no such directory/], [
        file,
        /not a directory/,
      ]] as const
    ) {
      for (const args of [["status"], ["watch"]]) {
        const out = await cli([...args, "--dir", path]);
        assert.equal(out.code, 2);
        assert.equal(out.stdout, "");
        assert.equal(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
        assert.ok(out.stderr.includes(path), out.stderr);
        assert.match(out.stderr, words);
      }
    }
  } finally {
    dir.remove();
  }
});

test("another user's directory is refused with exit 2", {
  skip: process.getuid?.() !== 0 && "needs root to chown",
}, async () => {
  const dir = tempDir();
  try {
    const theirs = join(dir.path, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    const out = await cli(["status", "--dir", theirs]);
    assert.equal(out.code, 2);
    assert.ok(out.stderr.includes(theirs), out.stderr);
    assert.match(out.stderr, /belongs to uid 65534/);
  } finally {
    dir.remove();
  }
});

test("bad arguments are an error with exit 2", async () => {
  for (
    const args of [["frob"], ["status", "--bogus"], [
      "watch",
      "--interval",
      "0",
    ], ["status", "--dir"]]
  ) {
    const out = await cli(args);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, /^memshare: /);
  }
  const help = await cli(["help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /status \[--dir DIR\] \[--json\]/);
});

test("watch redraws until Ctrl-C, then exits 0", async () => {
  const dir = tempDir();
  try {
    const [command, argv] = cliCommand([
      "watch",
      "--dir",
      dir.path,
      "--interval",
      "100",
    ]);
    const child = start(command, argv);
    await child.waitFor("Ctrl-C to stop");
    const frames = () => child.stdout().split("memshare locks in").length - 1;
    for (let i = 0; i < 100 && frames() < 3; i++) await sleep(50);
    assert.ok(frames() >= 3, child.stdout());
    // process.kill, not child.kill: Deno's ChildProcess.kill() reports the
    // signal as the cause of exit even when the child handled it and exited 0.
    process.kill(child.process.pid!, "SIGINT");
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr());
  } finally {
    dir.remove();
  }
});

test(
  "a symlink or a directory at the data path is named as such, not as a plain lock file",
  {
    skip: process.platform === "win32" && "symlinks need privileges on Windows",
  },
  async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, "plain.lock"), "");
      writeFileSync(join(dir.path, "linked.lock"), "");
      symlinkSync("/etc/hostname", join(dir.path, "linked"));
      writeFileSync(join(dir.path, "folder.lock"), "");
      mkdirSync(join(dir.path, "folder"));
      const out = await cli(["status", "--json", "--dir", dir.path]);
      assert.equal(out.code, 0, out.stderr);
      const notes = new Map(
        (JSON.parse(out.stdout) as (LockJson & { note: string | null })[])
          .map((lock) => [lock.name, lock.note]),
      );
      assert.equal(notes.get("plain"), "plain lock file (no data file)");
      assert.match(notes.get("linked")!, /^a symlink sits at the data path/);
      assert.match(notes.get("folder")!, /^a directory sits at the data path/);
    } finally {
      dir.remove();
    }
  },
);
