#!/bin/bash
# valgrind.sh: run black-box tests with arenad's master and workers under valgrind memcheck.
#
# The harness (tests/harness-daemon.c) puts the words of ARENA_TEST_WRAPPER before arenad's
# command line and multiplies its own start/stop deadlines by ARENA_TEST_TIMEOUT_SCALE; this
# script sets both, runs each chosen test program directly (bounded by `timeout`), and then
# reads every valgrind log the daemon left: one per process (%p), the master and each worker
# (forked children are followed; arenad never execs). A log passes when it holds
# "ERROR SUMMARY: 0 errors" and no "definitely lost" above 0 bytes. A process killed with
# SIGKILL (worker-kill, wedged, master-kill tests do that on purpose) writes no summary: it is
# counted as "killed" and is not a failure, since valgrind reports errors as they happen and any
# error it saw before the kill is in the log anyway (checked: "== N errors" lines as well).
#
# Valgrind makes the daemon 10-50x slower, so tests with tight latency deadlines (PONG within
# 500 ms while under abuse, drains within 1 s...) can fail for that reason alone; their status is
# printed but only valgrind's verdict decides the exit status unless --strict is given.
#
# Usage: tests/valgrind.sh [--build DIR] [--scale N] [--strict] [--keep] [TEST...]
#   --build DIR  a build without sanitizers (default: build-valgrind in the source root,
#                configured with -Db_sanitize=none -Dbuildtype=debug -Dtest_faults=true if it
#                does not exist; test_faults lets game-lock-fault run instead of skipping)
#   --scale N    ARENA_TEST_TIMEOUT_SCALE (default 10)
#   --strict     a failing test also fails the run
#   --keep       keep the valgrind logs even when everything passed
#   TEST         scenario names (tests/test-NAME.c: spread, game-play...), or "all";
#                default: all but churn and slow-reader (see below)
# Exit status: 0 clean, 1 valgrind found errors or definite leaks (or --strict and a test
# failed), 77 valgrind is not installed.
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-valgrind
scale=10
strict=0
keep=0
tests=()
all_tests=()
for f in "$root"/tests/test-*.c; do
	f=${f##*/test-}
	all_tests+=("${f%.c}")
done

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--scale) scale=$2; shift ;;
	--strict) strict=1 ;;
	--keep) keep=1 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
	all) tests+=("${all_tests[@]}") ;;
	-*) echo "valgrind.sh: unknown option '$1'" >&2; exit 1 ;;
	*) tests+=("$1") ;;
	esac
	shift
done
# The default: every scenario but those whose own assertions do not survive valgrind's
# slowness: churn bounds the daemon's RSS growth (valgrind's shadow memory counts in it), and
# slow-reader needs the deaf client cut once its 16 MB output cap fills, which a worker slowed
# down by valgrind does not reach within the test's deadline.
if [ ${#tests[@]} -eq 0 ]; then
	for t in "${all_tests[@]}"; do
		case $t in churn | slow-reader) ;; *) tests+=("$t") ;; esac
	done
fi
command -v valgrind > /dev/null || { echo "1..0 # SKIP valgrind is not installed"; exit 77; }

if [ ! -d "$build" ]; then
	meson setup "$build" "$root" -Db_sanitize=none -Dbuildtype=debug -Dtest_faults=true > /dev/null ||
		{ echo "valgrind.sh: meson setup $build failed" >&2; exit 1; }
fi
if meson introspect --buildoptions "$build" 2> /dev/null |
	python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit(o.get("b_sanitize","none")!="none")'; then
	:
else
	echo "valgrind.sh: $build is built with sanitizers; valgrind needs a build without them" >&2
	exit 1
fi
targets=(server/arenad)
for t in "${tests[@]}"; do
	targets+=("tests/test-$t")
done
ninja -C "$build" clients/arenactl "${targets[@]}" > "$build/valgrind-build.log" 2>&1 ||
	{ tail -20 "$build/valgrind-build.log"; echo "valgrind.sh: build failed" >&2; exit 1; }

logs=$(mktemp -d /tmp/arena-valgrind-XXXXXX) || exit 1
wrapper="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full"
wrapper+=" --show-leak-kinds=definite --errors-for-leak-kinds=definite --trace-children=yes"
wrapper+=" --child-silent-after-fork=no --num-callers=30 --log-file=$logs/%q{ARENA_VG_TEST}.%p.log"

bad=0
tfail=0
summary=()
for t in "${tests[@]}"; do
	exe=$build/tests/test-$t
	[ -x "$exe" ] || { echo "valgrind.sh: no test named '$t' ($exe)" >&2; exit 1; }
	echo "# ---- $t under valgrind (timeouts x$scale)"
	start=$(date +%s)
	ARENAD=$build/server/arenad ARENACTL=$build/clients/arenactl \
		ARENA_DASHBOARD=$root/docs/grafana/arena-dashboard.json \
		ARENA_TEST_WRAPPER=$wrapper ARENA_TEST_TIMEOUT_SCALE=$scale \
		ARENA_VG_TEST=$t timeout -k 10 900 "$exe" > "$logs/$t.out" 2>&1
	st=$?
	secs=$(($(date +%s) - start))
	grep -E '^(not ok|Bail out)' "$logs/$t.out" | sed 's/^/#   /'
	clean=0 killed=0 dirty=0
	for f in "$logs/$t".*.log; do
		[ -e "$f" ] || continue
		if grep -q "ERROR SUMMARY:" "$f"; then
			if grep -q "ERROR SUMMARY: 0 errors" "$f" &&
				! grep -Eq "definitely lost: [1-9][0-9,]* bytes" "$f"; then
				clean=$((clean + 1))
				continue
			fi
		elif ! grep -Eq "^==[0-9]+== (Invalid|Conditional|Syscall param|Mismatched|Source and destination|Use of uninitialised|Argument)" "$f"; then
			killed=$((killed + 1))
			continue
		fi
		dirty=$((dirty + 1))
		echo "# valgrind report in $f:"
		grep -E "^==[0-9]+== " "$f" | grep -v "^==[0-9]*== *$" | sed -n '1,/HEAP SUMMARY\|LEAK SUMMARY/p' |
			grep -v "HEAP SUMMARY" | head -60 | sed 's/^/#   /'
		grep -E "definitely lost|ERROR SUMMARY" "$f" | sed 's/^/#   /'
	done
	[ $dirty -gt 0 ] && bad=1
	[ $st -ne 0 ] && [ $st -ne 77 ] && tfail=1
	line="$t: test exit $st in ${secs}s; valgrind logs: $clean clean, $killed killed (no summary), $dirty with errors"
	summary+=("$line")
	if [ $dirty -gt 0 ]; then
		echo "not ok - $line"
	else
		echo "ok - $line"
	fi
done

echo "# ---- summary"
printf '#   %s\n' "${summary[@]}"
if [ $bad = 0 ] && { [ $strict = 0 ] || [ $tfail = 0 ]; }; then
	[ $keep = 0 ] && rm -rf "$logs" || echo "# logs in $logs"
	echo "# valgrind: clean"
	exit 0
fi
echo "# logs in $logs"
[ $bad = 1 ] && echo "# valgrind: ERRORS" || echo "# valgrind: clean, but tests failed (--strict)"
exit 1
