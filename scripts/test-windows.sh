#!/usr/bin/env bash
# Runs the test files that apply to Windows under the Windows builds of Deno
# and Bun, in Wine, so the kernel32 platform is tested for real on this Linux
# machine. POSIX-only tests inside them skip themselves with the reason.
#
#   scripts/test-windows.sh            # both runtimes
#   scripts/test-windows.sh deno       # one of them
#
# WINE_RUN names the launcher (default: scripts/tools/wine-run.sh, which
# fetches Wine 10 and the runtimes on first use, ~30 s). Exits non-zero if a
# runtime's run fails; MEMSHARE_EXPECT_WINDOWS=1 makes the suite fail rather
# than skip if it somehow does not run on Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
WINE_RUN=${WINE_RUN:-scripts/tools/wine-run.sh}
tests=(tests/windows.test.ts tests/lock.test.ts tests/hooks.test.ts tests/options.test.ts
       tests/platform.test.ts tests/files.test.ts tests/shared.test.ts tests/semaphore.test.ts
       tests/condition.test.ts tests/atomic.test.ts)
cat <<'NOTE'
Not run under Wine, with the reason:
  tests/multiprocess.test.ts, recovery, permissions, cli: spawn children with piped stdio, which
    makes Deno under Wine panic (mio named_pipe); tests/windows.test.ts covers multi-process
    exclusion, timeouts, recovery after TerminateProcess and hooks with its own children
  tests/interop.test.ts: flock(1) and Python's filelock are Linux programs here
  tests/shared.test.ts runs its in-realm cases (LockFileEx shared); its cross-process cases skip
    for the same piped-stdio reason
  tests/semaphore.test.ts runs its in-realm cases (slots, timeouts, hooks, bad input); its
    cross-process and status-CLI cases skip for the same reason, its leak check reads /proc
  tests/condition.test.ts and tests/atomic.test.ts run their in-realm cases (waits woken by a
    release, atomic publish and discard); their cross-process and kill cases skip likewise
NOTE
[ -x "$WINE_RUN" ] || { echo "test-windows.sh: no Wine launcher at $WINE_RUN (set WINE_RUN)" >&2; exit 2; }
export MEMSHARE_EXPECT_WINDOWS=1

failed=()
for runtime in "${@:-deno bun}"; do
  for r in $runtime; do
    echo "== Windows $r (Wine)"
    start=$(date +%s)
    case $r in
      deno) cmd=(deno test --allow-all --no-check "${tests[@]}") ;;
      bun) cmd=(bun test --timeout 120000 "${tests[@]}") ;;
      *) echo "test-windows.sh: unknown runtime $r" >&2; exit 2 ;;
    esac
    if "$WINE_RUN" "${cmd[@]}"; then
      echo "== Windows $r: passed in $(( $(date +%s) - start )) s"
    else
      echo "== Windows $r: FAILED after $(( $(date +%s) - start )) s" >&2
      failed+=("$r")
    fi
  done
done
[ ${#failed[@]} -eq 0 ] || { echo "test-windows.sh: failed under: ${failed[*]}" >&2; exit 1; }
