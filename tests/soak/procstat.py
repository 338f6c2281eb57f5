#!/usr/bin/env python3
"""procstat.py: the soak test's view of a running arenad: processes, fds and memory from /proc.

The daemon is a master and its worker children. For each of them this reads /proc/<pid>/fd and
/proc/<pid>/status (VmRSS) and splits the open fds in two: client connections (sockets whose
inode is a TCP connection with local port == the daemon's port in /proc/net/tcp{,6}, the
listener excluded) and everything else (listeners, channels, eventfds, epoll, log, reserve fd,
shared memory...). The second number does not depend on how many clients happen to be
connected, so the soak compares it exactly before and after its chaos. A sample is not atomic
(a connection accepted between reading the TCP table and listing the fds, or one reset by the
peer and already gone from the table, shows up as "other"), and such races only ever add to
"other", so `sample` takes the minimum over several tries.

Usage:
  procstat.py sample MASTER_PID PORT [TRIES]   one line of key=value pairs (see below)
  procstat.py clients PID PORT                 client connections held by PID
  procstat.py workers MASTER_PID               live worker pids, one per line
  procstat.py replaced MASTER_PID VICTIM N MS  wait up to MS ms until the master has N live
                                               workers and VICTIM is not one of them; prints
                                               the ms it took (exit 1 on timeout)
Output of `sample`: procs workers fds client_fds other_fds rss_kb (resident memory less the
shared world, RssShmem) shm_kb (the shared world resident, largest of any process) pids (comma separated,
master first) and per-process "fd:<pid>=<n>" and "other:<pid>=<n>" pairs.
Exit status 0, or 1 when the master is gone or the arguments are wrong.
"""
import os
import sys
import time


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        return []
    return sorted(k for k in kids if alive(k))


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def client_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if int(local.rsplit(":", 1)[1], 16) == port and state != "0A":
                        inodes.add(inode)
        except OSError:
            pass
    return inodes


def fds(pid):
    """The fd targets of pid (readlink of each /proc/pid/fd entry), or None if it is gone."""
    out = []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for n in names:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{n}"))
        except OSError:
            pass  # closed in between
    return out


def rss_kb(pid):
    """VmRSS less RssShmem: the process's own resident memory. The shared world is a fixed
    region created at start whose pages become resident as rooms, players and scores are first
    used (and again in each replacement worker), so counting it would show growth that is not a
    leak; it is reported separately as shm_kb."""
    rss = shm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssShmem:"):
                    shm = int(line.split()[1])
    except OSError:
        pass
    return rss - shm, shm


def count_clients(links, inodes):
    return sum(1 for l in links if l.startswith("socket:[") and l[8:-1] in inodes)


def sample_once(master, port):
    if not alive(master):
        return None
    pids = [master] + children(master)
    inodes = client_inodes(port)
    s = {"pids": pids, "fd": {}, "other": {}, "rss": 0}
    for p in pids:
        links = fds(p)
        if links is None:
            continue
        c = count_clients(links, inodes)
        s["fd"][p] = len(links)
        s["other"][p] = len(links) - c
        own, shm = rss_kb(p)
        s["rss"] += own
        s["shm"] = max(s.get("shm", 0), shm)
    return s


def main(argv):
    if len(argv) >= 4 and argv[1] == "sample":
        master, port = int(argv[2]), int(argv[3])
        tries = int(argv[4]) if len(argv) > 4 else 5
        best = None
        for i in range(tries):
            s = sample_once(master, port)
            if s is None:
                return 1
            if best is None or sum(s["other"].values()) < sum(best["other"].values()):
                best = s
            if i + 1 < tries:
                time.sleep(0.1)
        total = sum(best["fd"].values())
        other = sum(best["other"].values())
        line = [f"procs={len(best['pids'])}", f"workers={len(best['pids']) - 1}",
                f"fds={total}", f"client_fds={total - other}", f"other_fds={other}",
                f"rss_kb={best['rss']}", f"shm_kb={best.get('shm', 0)}", "pids=" + ",".join(str(p) for p in best["pids"])]
        line += [f"fd:{p}={n}" for p, n in best["fd"].items()]
        line += [f"other:{p}={n}" for p, n in best["other"].items()]
        print(" ".join(line))
        return 0
    if len(argv) == 4 and argv[1] == "clients":
        links = fds(int(argv[2]))
        print(count_clients(links or [], client_inodes(int(argv[3]))))
        return 0
    if len(argv) == 3 and argv[1] == "workers":
        if not alive(int(argv[2])):
            return 1
        for p in children(int(argv[2])):
            print(p)
        return 0
    if len(argv) == 6 and argv[1] == "replaced":
        master, victim, n, limit = (int(x) for x in argv[2:])
        t0 = time.monotonic()
        while True:
            waited = (time.monotonic() - t0) * 1000
            ws = children(master)
            if len(ws) == n and victim not in ws:
                print(int(waited))
                return 0
            if waited > limit:
                print(int(waited))
                return 1
            time.sleep(0.002)
    sys.stderr.write(__doc__)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
