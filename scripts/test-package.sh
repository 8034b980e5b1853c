#!/usr/bin/env bash
# Packs the npm package, installs it into a scratch Bun project with
# `bun add ./memshare-lock-*.tgz`, and runs a lock there: proves the published
# files are complete and import by the package name.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n1)
echo "packed $tarball ($(tar tzf "$scratch/$tarball" | wc -l) files)"
cd "$scratch"
echo '{ "name": "scratch", "private": true, "type": "module" }' >package.json
"$root/node_modules/.bin/bun" add "./$tarball" >/dev/null
cat >try.ts <<'TS'
import { MemoryShareLock } from "@memshare/lock";
const lock = new MemoryShareLock("package-test", { length: 8, dir: process.cwd() });
const count = await lock.run((memory) => ++memory[0]);
const again = lock.tryAcquire();
again?.releaseSync();
await lock.close();
if (count !== 1 || again === null) throw new Error(`unexpected: count ${count}`);
console.log("installed package works: acquired, wrote, released");
TS
"$root/node_modules/.bin/bun" try.ts
