#!/usr/bin/env bash
# fanout.sh: what one player costs the kernel at 20 Hz, arenad against the bench-broadcast
# baseline, counted rather than timed: system calls, TCP segments and bytes per player per
# second in the steady state, next to the CPU they cost and the players' p99 response.
#
# Four setups, REPEAT runs each (alternating), medians:
#   arenad        immediate_ack = off, as in players.sh (a MOVE is answered by the next tick)
#   arenad-chat   the same, and every bot also CHATs 24 times a minute (within the default
#                 chat_rate; chat_burst = 20): each player then gets a CHAT_MSG or more on
#                 most ticks besides its SNAPSHOT, and a tick's frames to one player leave
#                 in one write
#   broadcast     bench-broadcast: full SNAPSHOTs, 16 players and 4 gems (223 bytes a frame)
#   broadcast-67  bench-broadcast --send-players 4 --send-gems 1: 67-byte SNAPSHOTs, the size a
#                 delta snapshot of a room where a few players moved would have, for the same
#                 number of sends; what smaller frames alone would save
# The counts come from the server side: `ss -ti` over the server's sockets (segments and bytes
# in each direction: a segment without data is a pure ACK) and, when `perf` is installed,
# `perf stat` of the syscall tracepoints (sends, receives, epoll_wait per player per second),
# counted in a second window so that tracing does not weigh on the first. CPU is the server's
# processes' and the bots' (utime + stime), in % of one core, over the first window; the
# receiving half of a loopback send runs in the sender's system time.
# "frames received" is per player per second as the bots count them (SNAPSHOT + CHAT_MSG) over
# the whole run; every other column is per player per second over the windows.
# Usage: [REPEAT=3] [PLAYERS=2000] bench/fanout.sh   (about 4 minutes)
source "$(dirname "$0")/lib.sh"

n=${PLAYERS:-2000}
repeat=${REPEAT:-3}
workers=${WORKERS:-$(nproc)}
window=4
bench_begin
have_perf=0
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 && have_perf=1
[ "$have_perf" = 1 ] || say "perf (linux-perf) with syscall tracepoints not available: syscall columns left empty"

# ss_sum PORT: "data_segs_out segs_out data_segs_in segs_in bytes_sent bytes_received" summed
# over the established connections whose local port is PORT.
ss_sum() {
	ss -tinH state established "( sport = :$1 )" | awk '
		{ for (i = 1; i <= NF; i++) { split($i, a, ":"); v[a[1]] += a[2] } }
		END { printf "%d %d %d %d %d %d\n", v["data_segs_out"], v["segs_out"], v["data_segs_in"],
		      v["segs_in"], v["bytes_sent"], v["bytes_received"] }'
}

# run SERVER: one run; prints the row's numbers (see the header below).
run() {
	local server=$1 port pid json pids
	port=$(free_port)
	json=$BENCH_TMP/$server-$RANDOM.json
	case $server in
	arenad)
		start_arenad "$port" "$workers" max_clients=200000 max_clients_per_ip=200000 \
			max_players=100000 max_rooms=10000 idle_timeout=10m immediate_ack=off
		pid=$ARENAD_PID ;;
	arenad-chat) # a burst above the default 5: the bots' random timing sometimes bunches up
		start_arenad "$port" "$workers" max_clients=200000 max_clients_per_ip=200000 \
			max_players=100000 max_rooms=10000 idle_timeout=10m immediate_ack=off \
			chat_burst=20
		pid=$ARENAD_PID ;;
	broadcast)
		start_baseline bench-broadcast "$port" "$workers"
		pid=$BASE_PID ;;
	broadcast-67)
		BASE_ARGS="--send-players 4 --send-gems 1" start_baseline bench-broadcast "$port" "$workers"
		pid=$BASE_PID ;;
	esac
	local ramp=$(((n + 1999) / 2000)) chat=()
	[ "$server" = arenad-chat ] && chat=(--chat-rate 24)
	wait_quiet
	say "arena-bots --target 127.0.0.1:$port --bots $n --procs 2 --source $SOURCES --connect-rate 2000 --duration $((ramp + 2 * window + 4)) --input-hz 10 ${chat[*]} --json $json"
	"$BOTS" --target "127.0.0.1:$port" --bots "$n" --procs 2 --source "$SOURCES" \
		--connect-rate 2000 --duration $((ramp + 2 * window + 4)) --input-hz 10 \
		"${chat[@]+"${chat[@]}"}" --json "$json" --quiet >"$json.txt" 2>&1 &
	local bots=$!
	sleep $((ramp + 2))
	pids=$(daemon_pids "$pid" | paste -sd,)
	local s0 s1 c0 c1 m0 m1 sys=""
	read -r -a s0 <<<"$(ss_sum "$port")"
	c0=$(cpu_ticks "$pid")
	m0=$(cpu_ticks "$bots")
	sleep "$window"
	read -r -a s1 <<<"$(ss_sum "$port")"
	c1=$(cpu_ticks "$pid")
	m1=$(cpu_ticks "$bots")
	# a second window for the syscall counts, so that tracing costs nothing in the first
	if [ "$have_perf" = 1 ]; then
		sys=$(perf stat -x, -e syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto \
			-e syscalls:sys_enter_recvfrom,syscalls:sys_enter_read \
			-e syscalls:sys_enter_epoll_wait,raw_syscalls:sys_enter \
			-p "$pids" -- sleep "$window" 2>&1 >/dev/null |
			awk -F, '{ v[$3] = $1 } END { printf "%d %d %d %d", v["syscalls:sys_enter_sendmsg"] + v["syscalls:sys_enter_sendto"], v["syscalls:sys_enter_recvfrom"] + v["syscalls:sys_enter_read"], v["syscalls:sys_enter_epoll_wait"], v["raw_syscalls:sys_enter"] }')
	fi
	wait "$bots"
	local rc=$?
	[ "$rc" -eq 1 ] || [ ! -s "$json" ] && { cat "$json.txt" >&2; die "arena-bots failed"; }
	stop_pid "$pid"
	python3 - "$n" "$window" "$(getconf CLK_TCK)" "$json" "${s0[*]}" "${s1[*]}" "$c0" "$c1" "$m0" "$m1" "$sys" <<-'EOF'
		import json, sys
		n, w, hz = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
		d = json.load(open(sys.argv[4]))
		a = list(map(int, sys.argv[5].split())); b = list(map(int, sys.argv[6].split()))
		c = [y - x for x, y in zip(a, b)]
		per = lambda v: v / n / w
		cpu = 100.0 * (int(sys.argv[8]) - int(sys.argv[7])) / hz / w
		bots = 100.0 * (int(sys.argv[10]) - int(sys.argv[9])) / hz / w
		sysc = sys.argv[11].split()
		s = ["%.2f" % per(int(x)) for x in sysc] if sysc else ["-"] * 4
		k = d["counters"]
		frames = (k["snapshots"] + k["chat_received"]) / n / d["elapsed_s"]
		print(" ".join(["%.2f" % frames] + s + ["%.2f" % per(c[0]), "%.2f" % per(c[1] - c[0]), "%.2f" % per(c[2]),
		      "%.2f" % per(c[3] - c[2]), "%.0f" % per(c[4]), "%.0f" % (c[4] / max(1, c[0])),
		      "%.1f" % cpu, "%.1f" % bots,
		      "%.1f" % (d["latency_us"]["response"]["p99"] / 1000),
		      "%.2f" % (100 * (d["snapshots_on_time_ratio"] or 0)), str(d["errors"]["total"])]))
	EOF
}

servers=(arenad arenad-chat broadcast broadcast-67)
declare -A rows
for ((r = 0; r < repeat; r++)); do
	for s in "${servers[@]}"; do
		rows[$s]+="$(run "$s");"
	done
done

echo "Per player per second, $n players (20 Hz ticks, 10 MOVEs a second, rooms of 16), medians of $repeat runs:"
echo
echo "| server | frames received | sends | receives | epoll_wait | all syscalls | data segments out | pure ACKs out | data segments in | pure ACKs in | bytes out | bytes per data segment | server CPU % | bots CPU % | p99 response ms | on time % | errors |"
echo "| :-- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for s in "${servers[@]}"; do
	python3 - "$s" "${rows[$s]}" <<-'EOF'
		import statistics, sys
		runs = [r.split() for r in sys.argv[2].split(";") if r.strip()]
		def med(i):
		    v = [r[i] for r in runs]
		    if "-" in v:
		        return "-"
		    m = statistics.median(map(float, v))
		    return ("%.0f" if i in (9, 10) else "%.1f" if i in (11, 12, 13) else "%.2f") % m if i != 15 else "%d" % m
		print("| " + sys.argv[1] + " | " + " | ".join(med(i) for i in range(16)) + " |")
	EOF
done
