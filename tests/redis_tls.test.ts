/**
 * `rediss://`: the Redis engine over TLS to a server whose certificate a
 * private CA signed — trusted through the `tls: { ca }` option; without it
 * the connection is refused with an error that says how to trust the CA.
 * The server listens on TLS only (`--port 0`), so a lock that works went
 * through TLS.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisConnectionError, RedisShareLock } from "../redis.ts";
import { ROOT, run, runtimeCommand } from "./helpers.ts";
import {
  haveRedisServer,
  type RedisServer,
  startRedis,
} from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";
const SLOW = { timeout: 60_000 };

/** Runs openssl; throws with its stderr on failure. */
function openssl(args: string[]): void {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  }
}

/** A private CA and a server certificate it signed for 127.0.0.1. */
// deno-fmt-ignore
function makeCertificates(dir: string): { cert: string; key: string; ca: string } {
  const p = (name: string) => join(dir, name);
  openssl([
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
    "-subj", "/CN=memshare test CA",
    "-keyout", p("ca.key"), "-out", p("ca.pem"),
  ]);
  openssl([
    "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", p("server.key"), "-out", p("server.csr"),
  ]);
  writeFileSync(p("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl([
    "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"),
    "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2",
    "-extfile", p("san.ext"), "-out", p("server.pem"),
  ]);
  return { cert: p("server.pem"), key: p("server.key"), ca: p("ca.pem") };
}

describe("Redis over TLS (rediss://)", { skip }, () => {
  let dir = "";
  let server: RedisServer;
  let ca = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "memshare-tls-"));
    const files = makeCertificates(dir);
    ca = readFileSync(files.ca, "utf8");
    server = await startRedis({ tls: files });
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "with tls.ca the lock works: bytes handed on, tokens rising",
    SLOW,
    async () => {
      assert.match(server.url, /^rediss:\/\//);
      let first: number;
      {
        await using lock = new RedisShareLock("tls_ok", {
          length: 4,
          redis: server.url,
          tls: { ca },
        });
        first = await lock.run((memory, guard) => {
          memory.set([1, 2, 3, 4]);
          return guard.token;
        });
      }
      await using again = new RedisShareLock("tls_ok", {
        length: 4,
        redis: server.url,
        tls: { ca },
      });
      await again.run((memory, guard) => {
        assert.deepEqual([...memory], [1, 2, 3, 4]);
        assert.ok(guard.token > first, `${guard.token} > ${first}`);
      });
    },
  );

  test(
    "control: the server speaks only TLS (redis:// to its port fails)",
    SLOW,
    async () => {
      await using plain = new RedisShareLock("tls_plain", {
        length: 1,
        redis: server.url.replace("rediss:", "redis:"),
      });
      await assert.rejects(
        plain.acquire({ timeout: 10_000 }),
        (error: Error) => error instanceof RedisConnectionError,
      );
    },
  );

  test(
    "without tls.ca: refused, naming the URL and how to trust the CA",
    SLOW,
    async () => {
      await using lock = new RedisShareLock("tls_untrusted", {
        length: 1,
        redis: server.url,
      });
      await assert.rejects(
        lock.acquire({ timeout: 10_000 }),
        (error: Error) => {
          assert.ok(error instanceof RedisConnectionError, String(error));
          assert.ok(error.message.includes(server.url), error.message);
          assert.match(error.message, /certificate/i);
          assert.match(error.message, /tls: \{ ca \}/);
          return true;
        },
      );
    },
  );

  for (const runtime of ["deno", "bun"] as const) {
    test(
      `status --redis rediss:// under ${runtime}: NODE_EXTRA_CA_CERTS trusts the CA`,
      SLOW,
      async () => {
        await using lock = new RedisShareLock("tls_listed", {
          length: 1,
          redis: server.url,
          tls: { ca },
        });
        await using _guard = await lock.acquire({ timeout: 10_000 });
        const [command, args] = runtimeCommand(
          runtime,
          join(ROOT, "cli.ts"),
          ["status", "--redis", server.url],
          ["--allow-read", "--allow-net", "--allow-env"],
        );
        const trusted = await run(command, args, {
          NODE_EXTRA_CA_CERTS: join(dir, "ca.pem"),
        });
        assert.equal(trusted.code, 0, trusted.stderr);
        assert.match(trusted.stdout, /tls_listed/);
        const untrusted = await run(command, args, { NODE_EXTRA_CA_CERTS: "" });
        assert.equal(untrusted.code, 2, untrusted.stdout);
        assert.match(untrusted.stderr, /certificate/i);
        assert.match(untrusted.stderr, /NODE_EXTRA_CA_CERTS/);
      },
    );
  }

  test("a wrong CA is refused too", SLOW, async () => {
    const other = mkdtempSync(join(tmpdir(), "memshare-tls-other-"));
    try {
      const wrong = readFileSync(makeCertificates(other).ca, "utf8");
      await using lock = new RedisShareLock("tls_wrong_ca", {
        length: 1,
        redis: server.url,
        tls: { ca: wrong },
      });
      await assert.rejects(
        lock.acquire({ timeout: 10_000 }),
        (error: Error) =>
          error instanceof RedisConnectionError &&
          /certificate|verify/i.test(error.message),
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe("the tls option is checked at construction", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const cases: [string, unknown, RegExp][] = [
    [
      "redis:// with tls",
      { redis: "redis://127.0.0.1:1", tls: { ca: pem } },
      /option "tls" needs a rediss:\/\/ URL/,
    ],
    [
      "not an object",
      { redis: "rediss://127.0.0.1:1", tls: "ca.pem" },
      /option "tls" must be an object/,
    ],
    ["ca not PEM", {
      redis: "rediss://127.0.0.1:1",
      tls: { ca: "/etc/ca.pem" },
    }, /option "tls.ca" must be PEM text/],
    [
      "ca missing",
      { redis: "rediss://127.0.0.1:1", tls: {} },
      /option "tls.ca" must be PEM text/,
    ],
    ["unknown key", {
      redis: "rediss://127.0.0.1:1",
      tls: { ca: pem, cert: pem },
    }, /unknown key "cert"/],
  ]; // deno-fmt-ignore
  for (const [what, options, message] of cases) {
    test(what, () => {
      assert.throws(
        () =>
          new RedisShareLock(
            "tls_bad",
            { length: 1, ...(options as object) } as never,
          ),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      );
    });
  }

  test("a second instance with another CA is refused, naming tls.ca", async () => {
    const url = "rediss://127.0.0.1:1";
    const first = new RedisShareLock("tls_twice", {
      length: 1,
      redis: url,
      tls: { ca: pem },
    });
    try {
      assert.equal(
        new RedisShareLock("tls_twice", {
          length: 1,
          redis: url,
          tls: { ca: pem },
        }),
        first,
      );
      assert.throws(
        () => new RedisShareLock("tls_twice", { length: 1, redis: url }),
        (error: Error) =>
          error instanceof TypeError && /tls\.ca/.test(error.message),
      );
    } finally {
      await first.close();
    }
  });
});
