/**
 * The status listing of a Redis server: `listRedisLocks`, and the CLI's
 * `status --redis URL [--json]` and `watch --redis URL` run as child
 * processes under Deno and Bun — every lock with holder, lease, waiters and
 * token, the password never shown, no lock taken — plus a check that the
 * core CLI reaches the Redis code only through a dynamic `import()`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { listRedisLocks } from "../src/engine/redis/status.ts";
import { maskPassword, parseRedisUrl } from "../src/engine/redis/url.ts";
import { type RedisShareGuard, RedisShareLock } from "../redis.ts";
import { ROOT, run, runtimeCommand, sleep, start } from "./helpers.ts";
import {
  freePort,
  haveRedisServer,
  type RedisServer,
  startRedis,
} from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("status of a Redis server", { skip }, () => {
  test("lists each lock with holder, waiters, token; takes none", async () => {
    const server = await startRedis({ password: "pw-secret" });
    const url = `redis://:pw-secret@127.0.0.1:${server.port}`;
    const a = new RedisShareLock("alpha", {
      length: 4,
      redis: url,
      tagName: "A",
    });
    const b = new RedisShareLock("beta", { length: 4, redis: url });
    const other = new RedisShareLock("alpha", { length: 4, redis: `${url}/0` });
    try {
      await b.run(() => {});
      const guard = await a.acquire();
      const waiting = other.acquire();
      await sleep(300);
      const list = await listRedisLocks(parseRedisUrl(url));
      assert.deepEqual(list.map((l) => l.name), ["alpha", "beta"]);
      const [alpha, beta] = list;
      assert.equal(alpha.locked, true);
      assert.equal(alpha.holder?.pid, process.pid);
      assert.equal(alpha.holder?.tag, "A");
      assert.equal(alpha.waiting, 1);
      assert.equal(alpha.token, 1);
      assert.equal(beta.locked, false);
      assert.equal(beta.holder, null);
      assert.equal(beta.acquisitions, 1);
      assert.doesNotMatch(JSON.stringify(list), /pw-secret/);
      await guard.release();
      await (await waiting).release();
    } finally {
      await a.close();
      await b.close();
      await other.close();
      await server.stop();
    }
  });
});

/** The status CLI (`cli.ts`) as a child process, under `runtime`. */
function cliCommand(
  runtime: "deno" | "bun",
  args: string[],
  denoFlags = ["--allow-read", "--allow-net"],
): [string, string[]] {
  return runtimeCommand(runtime, CLI, args, denoFlags);
}

async function cli(
  runtime: "deno" | "bun",
  args: string[],
  denoFlags?: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(runtime, args, denoFlags);
  return await run(command, argv);
}

/** One lock as `status --redis URL --json` prints it. */
interface RedisLockJson {
  name: string;
  locked: boolean;
  holder: {
    host: string;
    pid: number;
    tag: string;
    since: string;
    leaseLeftMs: number;
  } | null;
  waiting: number;
  acquisitions: number;
  recoveries: number;
  token: number;
}

const CLI = join(ROOT, "cli.ts");
const RUNTIMES = ["deno", "bun"] as const;
const PASSWORD = "pw-Secret-4711";

describe("status --redis URL and watch --redis URL (the CLI)", { skip }, () => {
  let server: RedisServer;
  let url: string;
  const locks: RedisShareLock[] = [];
  const guards: RedisShareGuard[] = [];
  let waiting: Promise<RedisShareGuard> | undefined;
  let heldAt = 0;

  before(async () => {
    server = await startRedis({
      password: PASSWORD,
      user: { name: "bot", password: "bot-Secret-0815" },
    });
    url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
    const desk = new RedisShareLock("desk", {
      length: 8,
      redis: url,
      tagName: "front desk",
    });
    // Two instances of one name in this realm: one holds, one waits.
    const printer = new RedisShareLock("printer", { length: 8, redis: url });
    const printerToo = new RedisShareLock("printer", {
      length: 8,
      redis: `${url}/0`,
    });
    const spare = new RedisShareLock("spare", { length: 8, redis: url });
    locks.push(desk, printer, printerToo, spare);
    // Tokens count per name: desk's will be 3, printer's 2, spare's 1.
    await spare.run(() => {});
    await desk.run(() => {});
    await desk.run(() => {});
    await printer.run(() => {});
    heldAt = Date.now();
    guards.push(await desk.acquire(), await printer.acquire());
    waiting = printerToo.acquire();
    for (let i = 0; i < 100 && (await printer.info()).waiting < 1; i++) {
      await sleep(50);
    }
    assert.equal((await printer.info()).waiting, 1);
  });

  after(async () => {
    for (const guard of guards) await guard.release().catch(() => {});
    await (await waiting?.catch(() => null))?.release();
    for (const lock of locks) await lock.close();
    await server?.stop();
  });

  /** Checks that the CLI left every lock as it was: holders hold, the waiter waits. */
  async function untouched(): Promise<void> {
    const [desk, printer, , spare] = locks;
    const d = await desk.info();
    assert.equal(d.locked, true);
    assert.equal(d.token, 3);
    assert.equal(d.acquisitions, 3);
    const p = await printer.info();
    assert.equal(p.holder?.pid, process.pid);
    assert.equal(p.waiting, 1);
    assert.equal(p.acquisitions, 2);
    assert.equal((await spare.info()).acquisitions, 1);
    const settled = await Promise.race([
      waiting!.then(() => "granted"),
      sleep(0).then(() => "waiting"),
    ]);
    assert.equal(settled, "waiting");
  }

  for (const runtime of RUNTIMES) {
    test(`${runtime}: the table shows holder, since, lease left, waiters, token`, async () => {
      const out = await cli(runtime, ["status", "--redis", url]);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout + out.stderr, /pw-Secret/);
      const lines = out.stdout.trimEnd().split("\n");
      assert.equal(
        lines[0].replace(/\(\d\d:\d\d:\d\d\)$/, ""),
        `memshare locks on redis://:***@127.0.0.1:${server.port}: 3 locks, 2 held `,
      );
      assert.match(
        lines[1],
        /^ {2}NAME +LOCKED +HOST +PID +TAG +SINCE +LEASE LEFT +WAITING +TOKEN +ACQUIRED +RECOVERED$/,
      );
      const host = hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(
        lines[2],
        new RegExp(
          `^ {2}desk +yes +${host} +${process.pid} +front desk +\\d\\d:\\d\\d:\\d\\d +\\d+\\.\\d s +0 +3 +3 +0$`,
        ),
      );
      assert.match(
        lines[3],
        new RegExp(
          `^ {2}printer +yes +${host} +${process.pid} +printer +\\d\\d:\\d\\d:\\d\\d +\\d+\\.\\d s +1 +2 +2 +0$`,
        ),
      );
      assert.match(lines[4], /^ {2}spare +no +- +- +- +- +- +0 +1 +1 +0$/);
      assert.equal(lines.length, 5, out.stdout);
      // Aligned: the TOKEN column ends at the same offset on every line.
      const end = lines[1].indexOf("TOKEN") + "TOKEN".length;
      for (const line of lines.slice(2)) assert.match(line[end - 1], /\d/);
      await untouched();
    });

    test(`${runtime}: --json gives every field of every lock`, async () => {
      const out = await cli(runtime, ["status", "--json", "--redis", url]);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout + out.stderr, /pw-Secret/);
      const list = JSON.parse(out.stdout) as RedisLockJson[];
      assert.deepEqual(list.map((l) => l.name), ["desk", "printer", "spare"]);
      const [desk, printer, spare] = list;
      assert.deepEqual(Object.keys(desk).sort(), [
        "acquisitions",
        "holder",
        "locked",
        "name",
        "recoveries",
        "token",
        "waiting",
      ]);
      assert.equal(desk.locked, true);
      assert.equal(desk.holder?.host, hostname());
      assert.equal(desk.holder?.pid, process.pid);
      assert.equal(desk.holder?.tag, "front desk");
      // The server's clock, on this machine: close to ours.
      const since = Date.parse(desk.holder!.since);
      assert.ok(Math.abs(since - heldAt) < 5_000, desk.holder!.since);
      assert.ok(
        desk.holder!.leaseLeftMs > 0 && desk.holder!.leaseLeftMs <= 10_000,
        String(desk.holder!.leaseLeftMs),
      );
      assert.equal(desk.waiting, 0);
      assert.equal(desk.token, 3);
      assert.equal(desk.acquisitions, 3);
      assert.equal(desk.recoveries, 0);
      assert.equal(printer.locked, true);
      assert.equal(printer.holder?.tag, "printer");
      assert.equal(printer.waiting, 1);
      assert.equal(printer.token, 2);
      assert.equal(printer.acquisitions, 2);
      assert.deepEqual(spare, {
        name: "spare",
        locked: false,
        holder: null,
        waiting: 0,
        acquisitions: 1,
        recoveries: 0,
        token: 1,
      });
      await untouched();
    });

    test(`${runtime}: the password never shows, in output or errors`, async () => {
      const user = `redis://bot:bot-Secret-0815@127.0.0.1:${server.port}`;
      const ok = await cli(runtime, ["status", "--redis", user]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(
        ok.stdout.includes(`on redis://bot:***@127.0.0.1:${server.port}:`),
        ok.stdout,
      );
      assert.doesNotMatch(ok.stdout + ok.stderr, /bot-Secret/);

      const wrong = `redis://bot:wrong-Secret-9@127.0.0.1:${server.port}`;
      const denied = await cli(runtime, ["status", "--redis", wrong]);
      assert.equal(denied.code, 2);
      assert.equal(denied.stdout, "");
      assert.ok(
        denied.stderr.includes(`redis://bot:***@127.0.0.1:${server.port}`),
        denied.stderr,
      );
      assert.match(denied.stderr, /WRONGPASS|invalid username-password/);
      assert.doesNotMatch(denied.stderr, /wrong-Secret/);

      // A URL given without --redis is not echoed with its password either.
      const stray = await cli(runtime, ["status", url]);
      assert.equal(stray.code, 2);
      assert.match(stray.stderr, /unknown argument/);
      assert.doesNotMatch(stray.stderr, /pw-Secret/);
    });

    test(`${runtime}: a bad URL or an unreachable server is a clear error, fast`, async () => {
      for (
        const [bad, words] of [
          [`http://:${PASSWORD}@127.0.0.1:6379`, /redis:\/\/ or rediss:\/\//],
          [`redis://:${PASSWORD}@127.0.0.1:6379/abc`, /database number/],
          ["not a url", /not a URL/],
        ] as const
      ) {
        const out = await cli(runtime, ["status", "--redis", bad]);
        assert.equal(out.code, 2, out.stderr);
        assert.equal(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
        assert.match(out.stderr, /^memshare: /);
        assert.match(out.stderr, words);
        assert.ok(out.stderr.includes(maskPassword(bad)), out.stderr);
        assert.doesNotMatch(out.stderr, /pw-Secret/);
      }
      const port = await freePort(); // nobody listens there
      const nowhere = `redis://:${PASSWORD}@127.0.0.1:${port}`;
      for (const args of [["status"], ["watch"]]) {
        const started = Date.now();
        const out = await cli(runtime, [...args, "--redis", nowhere]);
        assert.ok(Date.now() - started < 15_000, "took too long");
        assert.equal(out.code, 2, out.stderr);
        assert.equal(out.stdout, "");
        assert.ok(
          out.stderr.includes(`redis://:***@127.0.0.1:${port}`),
          out.stderr,
        );
        assert.match(out.stderr, /cannot connect/);
        assert.doesNotMatch(out.stderr, /pw-Secret/);
      }
    });

    test(`${runtime}: watch --redis redraws until Ctrl-C, then exits 0`, async () => {
      const [command, argv] = cliCommand(runtime, [
        "watch",
        "--redis",
        url,
        "--interval",
        "100",
      ]);
      const child = start(command, argv);
      try {
        await child.waitFor("Ctrl-C to stop", 20_000);
        const frames = () =>
          child.stdout().split("memshare locks on").length - 1;
        for (let i = 0; i < 100 && frames() < 2; i++) await sleep(50);
        assert.ok(frames() >= 2, child.stdout());
        assert.match(child.stdout(), /^ {2}printer +yes .* 1 +2 +2 +0$/m);
        assert.doesNotMatch(child.stdout() + child.stderr(), /pw-Secret/);
        process.kill(child.process.pid!, "SIGINT");
        const { code } = await Promise.race([
          child.exited,
          sleep(10_000).then(() => ({ code: "still running" })),
        ]);
        assert.equal(code, 0, child.stderr());
      } finally {
        child.process.kill("SIGKILL");
      }
      await untouched();
    });
  }

  test("deno without --allow-net: says which flag is missing", async () => {
    const out = await cli("deno", ["status", "--redis", url], [
      "--allow-read",
    ]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /--allow-net/);
    assert.ok(
      out.stderr.includes(`redis://:***@127.0.0.1:${server.port}`),
      out.stderr,
    );
    assert.doesNotMatch(out.stderr, /pw-Secret/);
  });
});

/** Relative modules `file` imports statically (`import … from`, `export … from`), resolved. */
function staticImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found: string[] = [];
  for (
    const match of source.matchAll(
      /^\s*(?:import|export)\s[^;]*?\bfrom\s+"([^"]+)"/gms,
    )
  ) {
    found.push(match[1]);
  }
  for (const match of source.matchAll(/^\s*import\s+"([^"]+)"/gm)) {
    found.push(match[1]);
  }
  return found.map((spec) =>
    spec.startsWith(".") ? resolve(dirname(file), spec) : spec
  );
}

test("the core CLI loads no Redis code: only a dynamic import() reaches it", () => {
  const seen = new Set<string>();
  const todo = [CLI];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const dep of staticImports(file)) {
      if (dep.startsWith("/")) todo.push(dep);
      else seen.add(dep);
    }
  }
  const redis = [...seen].filter((f) =>
    f.includes("@redis") || f.includes("/engine/redis/") ||
    f.endsWith("/cli/redis.ts")
  );
  assert.deepEqual(redis, []);
  assert.ok(seen.has(join(ROOT, "src", "cli", "main.ts")), [...seen].join());
  assert.ok(seen.size > 10, [...seen].join()); // the walk did follow imports
  // …and the Redis status code is reached through the dynamic import.
  const main = readFileSync(join(ROOT, "src", "cli", "main.ts"), "utf8");
  assert.match(main, /await import\("\.\/redis\.ts"\)/);
  assert.ok(
    staticImports(join(ROOT, "src", "cli", "redis.ts")).some((f) =>
      f.endsWith("/engine/redis/status.ts")
    ),
  );
});
