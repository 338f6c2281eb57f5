#!/usr/bin/env bash
# smoke-bots.sh: black-box smoke test of arena-bots against a real arenad on loopback.
#
# Usage: smoke-bots.sh ARENAD ARENA_BOTS
#
# Starts arenad (3 workers) on a free 127.0.0.1 port, runs 200 bots for 5 s and checks: exit 0,
# zero errors, every bot welcomed and sent at least one snapshot, valid JSON whose counts add up
# (inputs sent == acked + timed out + pending; the error kinds sum to the total). Then the exit
# codes: a p99 threshold nobody can meet gives 2, a port nobody listens on gives 4. Finally
# SIGTERM must stop arenad with status 0. Everything started here is stopped on any exit, and
# the scratch directory is kept (and named) only when the test fails.
set -uo pipefail
source "$(dirname "$0")/test-lib.sh"

arenad=${1:?usage: smoke-bots.sh ARENAD ARENA_BOTS}
bots=${2:?usage: smoke-bots.sh ARENAD ARENA_BOTS}
tmp=$(mktemp -d /tmp/arena-smoke-bots.XXXXXX)
pid=
ok=0

cleanup() {
	stop_pid "$pid"
	if [ "$ok" = 1 ]; then
		rm -rf "$tmp"
	else
		echo "# kept $tmp; arenad log tail:"
		tail -n 30 "$tmp/arenad.log" 2>/dev/null | sed 's/^/#   /'
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_arenad 3
echo "# arenad pid $pid on 127.0.0.1:$port"

timeout 120 "$bots" --target "127.0.0.1:$port" --bots 200 --duration 5 --connect-rate 1000 \
	--json "$tmp/out.json" --quiet >"$tmp/bots.out" 2>"$tmp/bots.err"
rc=$?
sed 's/^/# /' "$tmp/bots.out"
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$tmp/bots.err"; fail "arena-bots exited $rc, want 0"; }
echo "ok - 200 bots for 5 s: exit 0"

python3 - "$tmp/out.json" <<'PY' || fail "JSON checks"
import json, sys
d = json.load(open(sys.argv[1]))
i, e, b = d["inputs"], d["errors"], d["bots"]
def check(cond, what):
    if not cond:
        print("not ok - " + what)
        sys.exit(1)
    print("ok - " + what)
check(d["config"]["bots"] == 200, "the JSON carries the configuration (200 bots)")
check(e["total"] == 0, "zero errors (got %d)" % e["total"])
check(b["welcomed"] == 200, "every bot was welcomed (%d)" % b["welcomed"])
check(b["with_snapshot"] == 200, "every bot received snapshots (%d with >= 1)" % b["with_snapshot"])
check(i["sent"] > 200 * 10 * 5 * 0.8, "inputs were sent on schedule (%d)" % i["sent"])
check(i["sent"] == i["acked"] + i["timed_out"] + i["pending_at_end"],
      "inputs add up: %d == %d + %d + %d" % (i["sent"], i["acked"], i["timed_out"], i["pending_at_end"]))
check(d["latency_us"]["response"]["count"] == i["acked"] + i["timed_out"],
      "one response sample per acked or timed-out input")
parts = (e["connect_failed"] + e["connect_timeout"] + e["refused"]["total"] + e["bye"]["total"] +
         e["timeout"] + e["protocol"]["total"] + e["unexpected_disconnect"] + e["output_overflow"])
check(parts == e["total"], "error kinds add up to the total")
r = d["latency_us"]["response"]
check(0 < r["p50"] <= r["p99"] <= r["max"], "response percentiles are ordered")
check(d["exit_code"] == 0 and not d["bottleneck"], "verdict ok, bots not the bottleneck")
PY

timeout 60 "$bots" --target "127.0.0.1:$port" --bots 20 --duration 2 --max-p99-ms 0.001 \
	--quiet >"$tmp/thr.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || { sed 's/^/# /' "$tmp/thr.out"; fail "threshold run exited $rc, want 2"; }
echo "ok - an unmeetable --max-p99-ms gives exit 2"

dead=$(free_port)
timeout 60 "$bots" --target "127.0.0.1:$dead" --bots 5 --duration 1 --quiet >"$tmp/dead.out" 2>&1
rc=$?
[ "$rc" -eq 4 ] || { sed 's/^/# /' "$tmp/dead.out"; fail "run against a closed port exited $rc, want 4"; }
echo "ok - nobody listening gives exit 4"

kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "arenad still running 10 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "arenad exited $rc after SIGTERM, want 0"
echo "ok - arenad stopped with status 0 after SIGTERM"
ok=1
