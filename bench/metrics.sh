#!/usr/bin/env bash
# metrics.sh: what a Prometheus scrape of /metrics costs, with no players and with PLAYERS
# playing (default 10,000 in rooms, each sending INPUT_HZ MOVEs a second, default 1), and whether scraping
# every 100 ms moves the players' latency.
#
# arenad runs WORKERS (default 2) workers with metrics_listen on a free loopback port. 100
# scrapes are timed from Python (connect to the last byte, urllib) before any bot connects
# (the baseline) and again while every player is in a room; the table gives median, p99 and
# max per scrape, the ratio to the baseline, and the exposition's size. A scrape reads only
# the scoreboard's atomics, so its cost should not grow with the players.
# Usage: bench/metrics.sh [PLAYERS]   (about 40 seconds)
source "$(dirname "$0")/lib.sh"

n=${1:-10000}
workers=${WORKERS:-2}
rate=${RATE:-2500}
hz=${INPUT_HZ:-1}
ramp=$(((n + rate - 1) / rate))
bench_begin

port=$(free_port)
mport=$(free_port)
start_arenad "$port" "$workers" max_clients=$((n + 1000)) max_clients_per_ip=$n \
	max_players=$((n + 1000)) max_rooms=$((n / 16 + 1000)) metrics_listen=127.0.0.1:"$mport"

# scrape N: time N scrapes; prints "median_ms p99_ms max_ms bytes master_cpu_ms_per_scrape"
# (the master's CPU time from /proc/PID/schedstat over the scrapes, divided by N: an upper
# bound, as it includes the master's own timers)
scrape() {
	python3 - "$mport" "$1" "$ARENAD_PID" <<'PY'
import sys, time, urllib.request
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def cpu_ns():
    return int(open("/proc/%s/schedstat" % pid).read().split()[0])
t, size = [], 0
c0 = cpu_ns()
for _ in range(n):
    t0 = time.perf_counter()
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
    t.append((time.perf_counter() - t0) * 1000)
    size = len(body)
    time.sleep(0.05)
c1 = cpu_ns()
t.sort()
print("%.2f %.2f %.2f %d %.3f" % (t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))], t[-1],
                                  size, (c1 - c0) / 1e6 / n))
PY
}

read -r b_med b_p99 b_max b_size b_cpu <<<"$(scrape 100)"
json=$BENCH_TMP/metrics.json
BENCH_WAIT_QUIET=0 run_bots "$json" --target "127.0.0.1:$port" --bots "$n" --procs $(((n + 4999) / 5000)) \
	--source "$SOURCES" --connect-rate "$rate" --connect-timeout 30s --input-hz "$hz" \
	--duration $((ramp + 20)) &
bots_pid=$!
BENCH_PIDS+=("$bots_pid")
sleep $((ramp + 4))
read -r l_med l_p99 l_max l_size l_cpu <<<"$(scrape 100)"
players=$(python3 -c 'import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
print(int(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith("arena_players_in_rooms "))))' "$mport")
wait "$bots_pid"
stop_pid "$ARENAD_PID"

echo "| players in rooms | scrape median ms | p99 ms | max ms | master CPU ms/scrape | exposition bytes | median vs no players |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '| 0 | %s | %s | %s | %s | %s | 1.00x |\n' "$b_med" "$b_p99" "$b_max" "$b_cpu" "$b_size"
printf '| %s | %s | %s | %s | %s | %s | %.2fx |\n' "$players" "$l_med" "$l_p99" "$l_max" "$l_cpu" \
	"$l_size" "$(calc "$l_med / $b_med")"
echo
echo "bots meanwhile: p99 response $(jget "$json" 'd["latency_us"]["response"]["p99"] / 1000') ms, errors $(jget "$json" 'd["errors"]["total"]')"
