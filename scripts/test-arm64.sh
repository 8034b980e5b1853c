#!/usr/bin/env bash
# Runs the platform and lock tests under the Linux aarch64 builds of Deno and
# Bun, emulated by qemu-user, so the arm64 constant table (O_NOFOLLOW 0x8000,
# SYS_futex 98, ...) is exercised for real, child processes included.
#
#   scripts/test-arm64.sh            # both runtimes
#   scripts/test-arm64.sh bun        # one of them
#
# ARM64_RUN names the launcher (default: scripts/tools/arm64-run.sh, which
# sets up qemu, an arm64 glibc and the runtimes on first use, ~15 s).
# Type checking is done natively by `npm run check`; Deno runs --no-check.
set -euo pipefail
cd "$(dirname "$0")/.."
ARM64_RUN=${ARM64_RUN:-scripts/tools/arm64-run.sh}
R=${MEMSHARE_ARM64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/memshare-arm64}
# Children must run the same (emulated) architecture as the test.
export MEMSHARE_DENO=$R/bin/deno-${ARM64_DENO_VERSION:-2.9.6}
export MEMSHARE_BUN=$R/bin/bun-${ARM64_BUN_VERSION:-1.4.5}
tests=(tests/platform.test.ts tests/lock.test.ts tests/hooks.test.ts tests/files.test.ts
       tests/multiprocess.test.ts tests/recovery.test.ts tests/shared.test.ts
       tests/semaphore.test.ts tests/condition.test.ts tests/atomic.test.ts)

# Both runtimes first: each suite spawns children of both (MEMSHARE_DENO/BUN).
for runtime in deno bun; do "$ARM64_RUN" "$runtime" --version >/dev/null; done

failed=()
for runtime in ${@:-deno bun}; do
  echo "== linux-aarch64 $runtime (qemu)"
  start=$(date +%s)
  case $runtime in
    deno) cmd=(deno test --allow-all --no-check "${tests[@]}") ;;
    bun) cmd=(bun test --timeout 300000 "${tests[@]}") ;;
    *) echo "test-arm64.sh: unknown runtime $runtime" >&2; exit 2 ;;
  esac
  if "$ARM64_RUN" "${cmd[@]}"; then
    echo "== linux-aarch64 $runtime: passed in $(( $(date +%s) - start )) s"
  else
    echo "== linux-aarch64 $runtime: FAILED after $(( $(date +%s) - start )) s" >&2
    failed+=("$runtime")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "test-arm64.sh: failed under: ${failed[*]}" >&2; exit 1; }
