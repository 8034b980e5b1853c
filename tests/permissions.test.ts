/**
 * Deno permissions: the library must work with `--allow-ffi` and nothing
 * else (environment and uid are read through FFI, files opened through
 * FFI), and without `--allow-ffi` it must fail with a message saying what
 * to add, not crash.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  fixture,
  run,
  runtimeBinary,
  runtimeCommand,
  tempDir,
} from "./helpers.ts";

const NAME = "permissions";

describe("permissions", () => {
  for (const runtime of ["deno", "bun"] as const) {
    test(
      `${
        runtime === "deno" ? "deno run --allow-ffi alone" : "bun"
      } runs the whole API, with the default directory and with a given one`,
      {
        timeout: 30_000,
      },
      async () => {
        const xdg = tempDir();
        const dir = tempDir();
        try {
          const [command, args] = runtimeCommand(
            runtime,
            fixture("permissions.ts"),
            [NAME, dir.path],
          );
          // The default directory comes from $XDG_RUNTIME_DIR, read with
          // getenv through FFI (Deno has no --allow-env here); pointing it at
          // a temporary directory keeps the test out of the real one.
          const result = await run(command, args, {
            XDG_RUNTIME_DIR: xdg.path,
          });
          assert.equal(
            result.code,
            0,
            `exit ${result.code ?? result.signal}; stderr: ${result.stderr}`,
          );
          assert.equal(result.stderr, "");
          const [imported, ...reports] = result.stdout.trim().split("\n");
          assert.equal(imported, "imported");
          const [byDefault, byDir] = reports.map((line) =>
            JSON.parse(line) as { path: string; info: { lockPath: string } }
          );
          const defaultDir = join(xdg.path, "memshare");
          assert.equal(byDefault.path, join(defaultDir, NAME));
          assert.equal(
            byDefault.info.lockPath,
            join(defaultDir, `${NAME}.lock`),
          );
          assert.equal(byDir.path, join(dir.path, NAME));
          // The default directory was created private, the files 0600.
          assert.equal(statSync(defaultDir).mode & 0o777, 0o700);
          for (const path of [byDefault.path, byDir.path]) {
            assert.equal(statSync(path).mode & 0o777, 0o600);
            assert.equal(statSync(`${path}.lock`).mode & 0o777, 0o600);
          }
        } finally {
          xdg.remove();
          dir.remove();
        }
      },
    );
  }

  test("deno run without --allow-ffi fails with a message naming --allow-ffi", {
    timeout: 30_000,
  }, async () => {
    const dir = tempDir();
    try {
      const result = await run(runtimeBinary("deno"), [
        "run",
        "--quiet",
        "--no-check",
        "--no-prompt",
        fixture("permissions.ts"),
        NAME,
        dir.path,
      ]);
      // Importing needs no permission; the first use fails cleanly.
      assert.equal(result.stdout.trim(), "imported");
      assert.equal(result.signal, null, "the process crashed");
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /memshare needs FFI: run Deno with --allow-ffi/,
      );
      assert.doesNotMatch(result.stderr, /panic|Segmentation fault/i);
      assert.deepEqual(readdirSync(dir.path), [], "files were touched");
    } finally {
      dir.remove();
    }
  });
});
