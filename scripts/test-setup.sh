#!/usr/bin/env bash
# `npm test`'s pretest (and .ci/run's set-up): makes sure the programs the
# tests spawn are installed. Each line below is one thing the tests or the
# stress driver run, and the Debian package that provides it.
#
# Missing something? As root with apt-get: `apt-get update` once, then one
# quiet install of what is missing. Otherwise: prints the one command that
# would install it, and fails. Nothing is skipped silently. With everything
# present it only looks (one Python start: well under 0.1 s).
set -euo pipefail

case $(uname -s) in
  Linux) ;;
  Darwin)
    # The Linux-only programs' tests skip themselves on macOS; Python's
    # filelock is still needed by tests/interop.test.ts and the stress driver.
    if ! /usr/bin/python3 -c 'import filelock' 2>/dev/null; then
      echo "test-setup: /usr/bin/python3 cannot import filelock; install it with:" >&2
      echo "  /usr/bin/python3 -m pip install --user filelock" >&2
      exit 1
    fi
    exit 0 ;;
  *) exit 0 ;; # Windows (Git Bash, MSYS): the tests that spawn OS programs skip there
esac

need() { # need PACKAGE WHY: records PACKAGE, once
  local p
  for p in "${missing[@]}"; do [ "$p" = "$1" ] && return; done
  missing+=("$1")
  whys+=("  $1: $2")
}
has() { command -v "$1" >/dev/null 2>&1; }
lib() { compgen -G "/usr/lib/*/$1" >/dev/null || compgen -G "/usr/lib/$1" >/dev/null || compgen -G "/lib/*/$1" >/dev/null; }

check() { # fills missing (Debian packages) and whys
  missing=() whys=()
  # tests/interop.test.ts and stress/ run Debian's /usr/bin/python3 by full path
  # (a `python3` on PATH may be a pyenv without filelock).
  /usr/bin/python3 -c 'import filelock' 2>/dev/null ||
    need python3-filelock "/usr/bin/python3 with the filelock module (tests/interop.test.ts, stress/)"
  # interop, cli, files, platform, waiting tests: flock(1); bad_input: setpriv (run as nobody)
  { [ -x /usr/bin/flock ] && has setpriv; } || need util-linux "flock(1), setpriv(1)"
  # bad_input, faults (as root): mount/umount a small tmpfs
  { has mount && has umount; } || need mount "mount(8), umount(8)"
  # interop, waiting, fixtures: sh, cat, sleep, mkfifo
  has sh || need dash "sh"
  { has cat && has sleep && has mkfifo; } || need coreutils "cat, sleep, mkfifo"
  # tests/darwin_waits.test.ts compiles tests/fixtures/darwin_shim.c (libc and linux headers)
  { { has cc || has gcc || has clang; } && [ -f /usr/include/stdint.h ] && [ -f /usr/include/linux/futex.h ]; } ||
    { need gcc "a C compiler (tests/darwin_waits.test.ts builds a shim)"; need libc6-dev "C headers for that shim"; }
  # tests/platform.test.ts: renameat2 traced and fault-injected under strace
  has strace || need strace "strace (tests/platform.test.ts)"
  # tests/files.test.ts: an age-based cleaner run against a live lock directory
  has systemd-tmpfiles || need systemd-standalone-tmpfiles "systemd-tmpfiles (tests/files.test.ts)"
  # the Redis engine's tests: a throwaway server, and redis-cli
  { has redis-server && has redis-cli; } || need redis-server "redis-server, redis-cli (the Redis engine's tests)"
  # tests/redis_tls.test.ts: a private CA and a server certificate for a rediss:// server
  has openssl || need openssl "openssl (tests/redis_tls.test.ts makes its certificates)"
  # tests/desktop.test.ts: a throwaway X server; the example's bots call libX11 and libXtst through FFI
  has Xvfb || need xvfb "Xvfb (tests/desktop.test.ts)"
  lib libX11.so.6 || need libx11-6 "libX11 (examples/x11/, through FFI)"
  lib libXtst.so.6 || need libxtst6 "libXtst (examples/x11/, through FFI)"
}

check
[ ${#missing[@]} -eq 0 ] && exit 0

echo "test-setup: the tests need these Debian packages, missing here:" >&2
printf '%s\n' "${whys[@]}" >&2
if [ "$(id -u)" = 0 ] && has apt-get; then
  echo "test-setup: installing them (apt-get update, then apt-get install) ..." >&2
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "test-setup: installed ${missing[*]} in $(( $(date +%s) - start )) s" >&2
  check
  [ ${#missing[@]} -eq 0 ] && exit 0
  echo "test-setup: still missing after the install:" >&2
  printf '%s\n' "${whys[@]}" >&2
  exit 1
fi
if has apt-get; then
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
else
  echo "No apt-get here: install the programs above with your system's package manager." >&2
fi
exit 1
