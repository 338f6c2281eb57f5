#!/usr/bin/env bash
# drain.sh: benchmark 5, graceful drain with 10,000 players: SIGTERM to exit in < 1 s, and
# every player told BYE(shutdown) first.
#
# The players join rooms and move once a second. When all are in, the master gets SIGTERM and
# the time until it has exited (workers drained, state saved) is measured with `wait`. Each bot
# counts the BYE it received; a connection that closed without one is an "unexpected
# disconnect". The bots end by themselves once every one of them has been told goodbye.
# Usage: bench/drain.sh [PLAYERS]   (default 10000; under a minute)
source "$(dirname "$0")/lib.sh"

n=${1:-10000}
workers=${WORKERS:-$(nproc)}
bench_begin

port=$(free_port)
start_arenad "$port" "$workers" max_clients=$((n + 1000)) max_clients_per_ip=$n \
	max_players=$((n + 1000)) max_rooms=$((n / 16 + 100)) idle_timeout=10m
json=$BENCH_TMP/drain.json
wait_quiet
say "arena-bots --target 127.0.0.1:$port --bots $n --procs 2 --source $SOURCES --connect-rate 5000 --connect-timeout 30s --input-hz 1 --duration 120 --json $json"
"$BOTS" --target "127.0.0.1:$port" --bots "$n" --procs 2 --source "$SOURCES" \
	--connect-rate 5000 --connect-timeout 30s --input-hz 1 --duration 120 --json "$json" \
	>"$json.txt" 2>"$BENCH_TMP/live.txt" &
bots_pid=$!
BENCH_PIDS+=("$bots_pid")

# wait until the live line shows every bot connected (60 s at most, or until the count has
# not moved for 10 s: a bot that failed to connect is reported, not waited for), then 2 s more
last=-1
still=0
for _ in $(seq 600); do
	c=$(tail -n 1 "$BENCH_TMP/live.txt" 2>/dev/null | sed -n 's/.*connected \([0-9]*\).*/\1/p')
	c=${c:-0}
	[ "$c" -ge "$n" ] && break
	if [ "$c" = "$last" ]; then still=$((still + 1)); else still=0; fi
	[ "$still" -ge 100 ] && break
	last=$c
	sleep 0.1
done
[ "$c" -ge "$n" ] || say "only $c of $n players connected; draining those"
sleep 2

t0=$(date +%s.%N)
kill -TERM "$ARENAD_PID"
wait "$ARENAD_PID"
status=$?
t1=$(date +%s.%N)
for _ in $(seq 300); do kill -0 "$bots_pid" 2>/dev/null || break; sleep 0.1; done
wait "$bots_pid"
[ -s "$json" ] || die "no results from the bots"

bye=$(jget "$json" 'd["errors"]["bye"]["shutdown"]')
unexp=$(jget "$json" 'd["errors"]["unexpected_disconnect"]')
welcomed=$(jget "$json" 'd["bots"]["welcomed"]')
secs=$(calc "$t1 - $t0")
echo "| players | welcomed | got BYE(shutdown) | closed without BYE | SIGTERM -> exit s | exit status | target: all BYE, < 1 s |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | :-- |"
printf '| %d | %d | %d | %d | %.3f | %d | %s |\n' "$n" "$welcomed" "$bye" "$unexp" "$secs" \
	"$status" "$([ "$bye" -eq "$welcomed" ] && [ "$welcomed" -eq "$n" ] && [ "$unexp" -eq 0 ] && [ "$status" -eq 0 ] && \
		python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1 else 1)' "$secs" &&
		echo met || echo missed)"
