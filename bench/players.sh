#!/usr/bin/env bash
# players.sh: benchmark 2, active players: 20 Hz ticks, 10 Hz inputs, rooms of 16. How many
# players each server carries while the p99 response stays within budget and >= 99% of the
# snapshots are on time; arenad vs the bench-broadcast baseline (target: >= 0.8x the baseline
# and >= 5000 players).
#
# arenad runs with immediate_ack = off here, as the baseline works: a MOVE is acknowledged by
# the next tick's SNAPSHOT (bench/ack.sh measures the default, immediate_ack = on, which
# answers each MOVE at once). So with 20 Hz ticks the response time
# includes a wait of up to 50 ms by construction (p99 of that wait alone is ~49.5 ms): a
# literal "p99 < 50 ms" cannot be met by any tick-based server, the baseline included. The
# budget used here is therefore 50 ms on top of the tick wait: p99 response < 100 ms. A step
# passes with that, >= 99% snapshots within one tick of schedule, zero errors, and the bots
# not being the bottleneck (arena-bots exit 3 marks the step "bots-limited").
# A failing step is run a second time and counts as failed only if that fails too, so that a
# passing disturbance on the machine does not end the search (both results are shown).
# Each step also reports what the server sent: bytes per player per second (the bots' bytes
# received, divided by the players and the run's length, the handshake included).
# With PLOT=FILE.svg the runs' latency (p50, p99, p99.9 of the response time) is also drawn
# against the number of players, one series per server (bench/plot.py).
# Usage: [PLOT=FILE.svg] bench/players.sh [N...]   (default 500 1000 1500 2000 2500 3000 3500 4000 5000 6000 8000;
#        the search stops at each server's first failure: typically 5 to 10 minutes)
source "$(dirname "$0")/lib.sh"

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(500 1000 1500 2000 2500 3000 3500 4000 5000 6000 8000)
workers=${WORKERS:-$(nproc)}
hold=${HOLD:-10}
bench_begin

# run_step SERVER N: one run; prints "p99_ms ontime_pct errors rc server_cpu bots_cpu bytes_per_player_s".
run_step() {
	local server=$1 n=$2 port json
	port=$(free_port)
	json=$BENCH_TMP/$server-$n.json
	if [ "$server" = arenad ]; then
		start_arenad "$port" "$workers" max_clients=200000 max_clients_per_ip=200000 \
			max_players=100000 max_rooms=10000 idle_timeout=10m immediate_ack=off
		pid=$ARENAD_PID
	else
		start_baseline bench-broadcast "$port" "$workers"
		pid=$BASE_PID
	fi
	local procs=$(((n + 9999) / 10000 + 1))
	local ramp=$(((n + 1999) / 2000))
	local t0 c0 c1 t1
	t0=$(date +%s.%N)
	c0=$(cpu_ticks "$pid")
	run_bots "$json" --target "127.0.0.1:$port" --bots "$n" --procs "$procs" \
		--source "$SOURCES" --connect-rate 2000 --duration $((ramp + hold)) --input-hz 10
	c1=$(cpu_ticks "$pid")
	t1=$(date +%s.%N)
	stop_pid "$pid"
	# p99 ms, on time %, errors, arena-bots exit, server CPU %, bots CPU % (of one core),
	# bytes per player per second from the server
	echo "$(jget "$json" 'd["latency_us"]["response"]["p99"] / 1000') $(jget "$json" '100 * (d["snapshots_on_time_ratio"] or 0)') $(jget "$json" 'd["errors"]["total"]') $BOTS_RC $(calc "100.0 * ($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)") $(jget "$json" '100.0 * d["counters"]["cpu_us"] / 1e6 / d["elapsed_s"]') $(jget "$json" 'd["counters"]["bytes_in"] / d["config"]["bots"] / d["elapsed_s"]')"
}

verdict() { # p99 ontime errors rc
	if [ "$4" = 3 ]; then
		echo "bots-limited"
	elif python3 -c 'import sys; p, o, e = map(float, sys.argv[1:4]); sys.exit(0 if p < 100 and o >= 99 and e == 0 else 1)' "$1" "$2" "$3"; then
		echo "pass"
	else
		echo "fail"
	fi
}

echo "| players | arenad p99 ms | on time % | errors | CPU % (arenad; bots) | bytes/player/s | arenad | broadcast p99 ms | on time % | errors | CPU % (broadcast; bots) | bytes/player/s | broadcast |"
echo "| ---: | ---: | ---: | ---: | :-- | ---: | :-- | ---: | ---: | ---: | :-- | ---: | :-- |"
best_a=0
best_b=0
a_done=0
b_done=0
for n in "${steps[@]}"; do
	ra=(- - - skipped - - -)
	rb=(- - - skipped - - -)
	va=-
	vb=-
	if [ "$a_done" = 0 ]; then
		read -r -a ra <<<"$(run_step arenad "$n")"
		va=$(verdict "${ra[@]}")
		if [ "$va" != pass ]; then
			read -r -a ra2 <<<"$(run_step arenad "$n")"
			va2=$(verdict "${ra2[@]}")
			say "arenad $n: first run $va (${ra[*]}), second run $va2 (${ra2[*]})"
			[ "$va2" = pass ] && { ra=("${ra2[@]}"); va="pass (2nd run)"; }
		fi
		if [ "${va%% *}" = pass ]; then best_a=$n; else a_done=1; fi
	fi
	if [ "$b_done" = 0 ]; then
		read -r -a rb <<<"$(run_step broadcast "$n")"
		vb=$(verdict "${rb[@]}")
		if [ "$vb" != pass ]; then
			read -r -a rb2 <<<"$(run_step broadcast "$n")"
			vb2=$(verdict "${rb2[@]}")
			say "broadcast $n: first run $vb (${rb[*]}), second run $vb2 (${rb2[*]})"
			[ "$vb2" = pass ] && { rb=("${rb2[@]}"); vb="pass (2nd run)"; }
		fi
		if [ "${vb%% *}" = pass ]; then best_b=$n; else b_done=1; fi
	fi
	fmt() { python3 -c 'import sys; print(sys.argv[1] if sys.argv[1] == "-" else "%.1f" % float(sys.argv[1]))' "$1"; }
	whole() { python3 -c 'import sys; print(sys.argv[1] if sys.argv[1] == "-" else "%.0f" % float(sys.argv[1]))' "$1"; }
	printf '| %d | %s | %s | %s | %s; %s | %s | %s | %s | %s | %s | %s; %s | %s | %s |\n' "$n" \
		"$(fmt "${ra[0]}")" "$(fmt "${ra[1]}")" "${ra[2]}" "$(fmt "${ra[4]}")" "$(fmt "${ra[5]}")" \
		"$(whole "${ra[6]}")" "$va" "$(fmt "${rb[0]}")" "$(fmt "${rb[1]}")" "${rb[2]}" \
		"$(fmt "${rb[4]}")" "$(fmt "${rb[5]}")" "$(whole "${rb[6]}")" "$vb"
	[ "$a_done" = 1 ] && [ "$b_done" = 1 ] && break
done
echo
echo "| most players passing | arenad | bench-broadcast | ratio arenad / broadcast |"
echo "| :-- | ---: | ---: | ---: |"
# a server that never failed passed every step tried: its capacity is at least that
la=$best_a
lb=$best_b
[ "$a_done" = 0 ] && la=">= $best_a"
[ "$b_done" = 0 ] && lb=">= $best_b"
printf '| p99 < 100 ms, >= 99%% on time, 0 errors | %s | %s | %s |\n' "$la" "$lb" \
	"$(ratio "$best_a" "$best_b")"
if [ -n "${PLOT:-}" ]; then
	python3 "$BENCH_TOP/bench/plot.py" -o "$PLOT" \
		--title "response time vs active players (20 Hz ticks, 10 Hz inputs)" \
		-- arenad "$BENCH_TMP"/arenad-*.json -- bench-broadcast "$BENCH_TMP"/broadcast-*.json >&2
fi
