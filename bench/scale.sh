#!/usr/bin/env bash
# scale.sh: benchmark 7, scale-out on one box: two arenad nodes sharing one game through
# redis-server, behind haproxy (send-proxy-v2, round robin), against one arenad node taken
# directly, with the same bots and the same CPU budget (one node with WORKERS workers; two
# nodes with WORKERS/2 workers each, at least 1).
#
# Two loads, each repeated REPEAT times (default 2), alternating the setups:
#   ping     closed-loop PING round trips, 1000 connections: the hop cost of the balancer
#   players  1000 active players (20 Hz ticks, 10 Hz inputs, rooms of 16): p99 response time,
#            p99 gap between two snapshots of one player (the bots' "on time" share assumes
#            one tick clock, and two nodes tick on their own), and the CPU of every server-side process (arenad, and for the
#            scaled setup haproxy and redis-server too)
# The ratio is scaled / single. On a box with 2 shared CPUs the scaled setup can only lose:
# haproxy copies every byte once more and redis-server takes CPU from the same two cores;
# scale-out pays off when the nodes are on separate machines (docs/SCALE.md sizes that).
# Usage: bench/scale.sh [SECONDS]   (default 10 per run; about 3 minutes in all)
source "$(dirname "$0")/lib.sh"

secs=${1:-10}
repeat=${REPEAT:-2}
workers=${WORKERS:-$(nproc)}
node_workers=$((workers / 2 > 0 ? workers / 2 : 1))
command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"
command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
bench_begin "haproxy: $(haproxy -v 2>/dev/null | head -n 1); redis: $(redis-server --version | head -n 1)"

# immediate_ack = off: the run recorded in PERFORMANCE.md section 7 predates the option
limits=(max_clients=100000 max_clients_per_ip=100000 max_players=100000 max_rooms=10000
	idle_timeout=10m request_rate=1000 request_burst=10000 immediate_ack=off)

# start_scaled: redis-server, two arenad nodes and haproxy in front. Sets PORT (haproxy's)
# and SERVER_PIDS (every server-side process).
start_scaled() {
	local rport aport bport
	rport=$(free_port)
	say "redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no"
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$BENCH_TMP" >"$BENCH_TMP/redis-$rport.log" 2>&1 &
	local redis_pid=$!
	BENCH_PIDS+=("$redis_pid")
	wait_port "$rport" "$redis_pid" || die "redis-server did not start"
	aport=$(free_port)
	start_arenad "$aport" "$node_workers" "${limits[@]}" "redis=127.0.0.1:$rport" \
		proxy_protocol=v2 proxy_trusted=127.0.0.1
	local a_pid=$ARENAD_PID
	bport=$(free_port)
	start_arenad "$bport" "$node_workers" "${limits[@]}" "redis=127.0.0.1:$rport" \
		proxy_protocol=v2 proxy_trusted=127.0.0.1
	local b_pid=$ARENAD_PID
	PORT=$(free_port)
	cat >"$BENCH_TMP/haproxy-$PORT.cfg" <<-EOF
		global
		  maxconn 5000
		defaults
		  mode tcp
		  timeout connect 1s
		  timeout client 60s
		  timeout server 60s
		frontend game
		  bind 127.0.0.1:$PORT
		  default_backend nodes
		backend nodes
		  balance roundrobin
		  server a 127.0.0.1:$aport send-proxy-v2
		  server b 127.0.0.1:$bport send-proxy-v2
	EOF
	say "haproxy -db -f $BENCH_TMP/haproxy-$PORT.cfg (round robin, send-proxy-v2, to :$aport and :$bport)"
	haproxy -db -f "$BENCH_TMP/haproxy-$PORT.cfg" >"$BENCH_TMP/haproxy-$PORT.log" 2>&1 &
	local hp_pid=$!
	BENCH_PIDS+=("$hp_pid")
	wait_port "$PORT" "$hp_pid" || { cat "$BENCH_TMP/haproxy-$PORT.log" >&2; die "haproxy did not start"; }
	SERVER_PIDS=("$a_pid" "$b_pid" "$hp_pid" "$redis_pid")
}

start_single() {
	PORT=$(free_port)
	start_arenad "$PORT" "$workers" "${limits[@]}"
	SERVER_PIDS=("$ARENAD_PID")
}

stop_servers() {
	local p
	for p in "${SERVER_PIDS[@]}"; do stop_pid "$p"; done
}

# server_ticks: the CPU ticks of the arenad processes, haproxy and redis-server (0 when absent).
server_ticks() {
	local a=0 h=0 r=0 p
	for p in "${SERVER_PIDS[@]:0:2}"; do a=$((a + $(cpu_ticks "$p"))); done
	if [ ${#SERVER_PIDS[@]} -eq 4 ]; then
		h=$(cpu_ticks "${SERVER_PIDS[2]}")
		r=$(cpu_ticks "${SERVER_PIDS[3]}")
	fi
	echo "$a $h $r"
}

# run SETUP LOAD REP: one run; leaves its JSON in $BENCH_TMP/SETUP-LOAD-REP.json and the
# server-side CPU (percent of one core) in $BENCH_TMP/SETUP-LOAD-REP.cpu.
run() {
	local setup=$1 load=$2 rep=$3 json c0 c1 t0 t1
	json=$BENCH_TMP/$setup-$load-$rep.json
	"start_$setup"
	local args=(--target "127.0.0.1:$PORT" --bots 1000 --procs 2 --source "$SOURCES")
	if [ "$load" = ping ]; then
		args+=(--ping --duration "$secs" --connect-rate 0)
	else
		args+=(--connect-rate 2000 --duration $((secs + 1)) --input-hz 10)
	fi
	t0=$(date +%s.%N)
	c0=$(server_ticks)
	run_bots "$json" "${args[@]}"
	c1=$(server_ticks)
	t1=$(date +%s.%N)
	stop_servers
	# percent of one core: all, arenad, haproxy, redis-server
	python3 -c 'import sys; a = list(map(int, sys.argv[1].split())); b = list(map(int, sys.argv[2].split())); s = float(sys.argv[3]); d = [100.0 * (y - x) / s for x, y in zip(a, b)]; print(sum(d), *d)' \
		"$c0" "$c1" "$(calc "$(getconf CLK_TCK) * ($t1 - $t0)")" >"$BENCH_TMP/$setup-$load-$rep.cpu"
	local e
	e=$(jget "$json" 'd["errors"]["total"]')
	[ "$e" = 0 ] || say "$setup $load run $rep had $e errors"
}

for load in ping players; do
	for rep in $(seq "$repeat"); do
		run single "$load" "$rep"
		run scaled "$load" "$rep"
	done
done

# col SETUP LOAD EXPR: the median over the runs of EXPR on each run's JSON.
col() {
	local v=() rep
	for rep in $(seq "$repeat"); do v+=("$(jget "$BENCH_TMP/$1-$2-$rep.json" "$3")"); done
	median "${v[@]}"
}
# cpu SETUP LOAD [FIELD]: the median server-side CPU (FIELD 1 all, 2 arenad, 3 haproxy, 4 redis).
cpu() {
	local v=() rep
	for rep in $(seq "$repeat"); do v+=("$(cut -d' ' -f"${3:-1}" "$BENCH_TMP/$1-$2-$rep.cpu")"); done
	median "${v[@]}"
}
errs() {
	local t=0 rep
	for rep in $(seq "$repeat"); do t=$((t + $(jget "$BENCH_TMP/$1-$2-$rep.json" 'd["errors"]["total"]'))); done
	echo "$t"
}

rate='d["inputs"]["achieved_rate"]'
p99='d["latency_us"]["response"]["p99"] / 1000'
gap='d["latency_us"]["snap_gap"]["p99"] / 1000'
echo "| load (1000 connections) | measure | one node ($workers workers) | two nodes ($node_workers worker(s) each) + haproxy + redis | ratio two/one |"
echo "| :-- | :-- | ---: | ---: | ---: |"
a=$(col single ping "$rate")
b=$(col scaled ping "$rate")
printf '| ping, closed loop | round trips/s | %.0f | %.0f | %s |\n' "$a" "$b" "$(ratio "$b" "$a")"
a=$(col single ping "$p99")
b=$(col scaled ping "$p99")
printf '| | p99 ms | %.2f | %.2f | %s |\n' "$a" "$b" "$(ratio "$b" "$a")"
a=$(cpu single ping)
b=$(cpu scaled ping)
printf '| | server-side CPU %% of one core | %.0f | %.0f (arenad %.0f, haproxy %.0f, redis %.0f) | %s |\n' "$a" "$b" \
	"$(cpu scaled ping 2)" "$(cpu scaled ping 3)" "$(cpu scaled ping 4)" "$(ratio "$b" "$a")"
printf '| | errors | %s | %s | |\n' "$(errs single ping)" "$(errs scaled ping)"
a=$(col single players "$p99")
b=$(col scaled players "$p99")
printf '| players, 20 Hz ticks, 10 Hz inputs | p99 response ms | %.1f | %.1f | %s |\n' "$a" "$b" "$(ratio "$b" "$a")"
a=$(col single players "$gap")
b=$(col scaled players "$gap")
printf '| | p99 gap between snapshots ms (50 = on time) | %.1f | %.1f | %s |\n' "$a" "$b" "$(ratio "$b" "$a")"
a=$(cpu single players)
b=$(cpu scaled players)
printf '| | server-side CPU %% of one core | %.0f | %.0f (arenad %.0f, haproxy %.0f, redis %.0f) | %s |\n' "$a" "$b" \
	"$(cpu scaled players 2)" "$(cpu scaled players 3)" "$(cpu scaled players 4)" "$(ratio "$b" "$a")"
printf '| | errors | %s | %s | |\n' "$(errs single players)" "$(errs scaled players)"
echo
echo "(medians of $repeat runs each, alternating the setups; server-side CPU counts arenad's processes and, for two nodes, haproxy and redis-server)"
