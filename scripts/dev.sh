#!/usr/bin/env bash
# dev.sh: one entry point to set up, build, run and test arena on a Debian 12 machine.
#
#   bash scripts/dev.sh run [arenad args...]  install deps, build, run arenad in the foreground
#   bash scripts/dev.sh test [meson test args] install deps, build (warnings are errors, test
#                                              fault points compiled in), run the whole suite
#   bash scripts/dev.sh deps                   install the Debian packages only
#
# Idempotent: packages already installed are skipped, existing build dirs are reused.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Build and test dependencies, all from Debian 12's archive.
PKGS=(meson ninja-build pkg-config gcc libevent-dev libsystemd-dev libinih-dev libcmocka-dev
      systemd clang libclang-rt-14-dev libfuzzer-14-dev valgrind scdoc python3 util-linux
      procps iproute2 strace clang-format haproxy redis-server libhiredis-dev)

say() { printf '==> %s\n' "$*" >&2; }

deps() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
}

# setup DIR [meson options...]: configure DIR once, reconfigure if the options changed.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@"
	fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
deps)
	deps
	;;
run)
	deps
	setup build --buildtype=debugoptimized -Dtest_faults=false
	ninja -C build
	say "starting arenad on its built-in defaults (port 7777); Ctrl-C stops it gracefully"
	exec build/server/arenad "$@"
	;;
test)
	deps
	setup build-test --buildtype=debugoptimized -Dwerror=true -Dtest_faults=true
	ninja -C build-test
	meson test -C build-test --print-errorlogs --num-processes 2 "$@"
	;;
*)
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
	exit 64
	;;
esac
