#!/usr/bin/env python3
# test-syscalls.py: everything arenad does at run time is allowed by arenad.service's sandbox.
#
# There is no systemd PID 1 in the test environment, so the sandbox cannot simply be switched
# on. Instead this runs the socket-activation scenario (start, game sessions on IPv4 and IPv6,
# reload, graceful stop) with arenad under strace -f, then checks the trace against what the
# unit allows: every system call against SystemCallFilter= (groups expanded by
# systemd-analyze syscall-filter, applied in order like systemd does), socket families against
# RestrictAddressFamilies=, no writable+executable memory (MemoryDenyWriteExecute=), no new
# namespaces (RestrictNamespaces=), no second execve, files opened for writing only in the
# state directory or /dev/null (ProtectSystem=strict), only the devices PrivateDevices= provides
# and only per-process /proc entries (ProcSubset=pid). Skipped under sanitizers (their runtime
# does things the plain binary never does) or without strace.
#
# usage: test-syscalls.py UNIT TEST-SOCKET-ACTIVATE   (env ARENAD, ARENA_SANITIZE)
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAMILIES_OK = None  # filled from RestrictAddressFamilies=
DEVICES_OK = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}


def skip(why):
    print(f"1..0 # SKIP {why}")
    sys.exit(77)


def fail(why, lines=()):
    print(f"not ok - {why}")
    for line in list(lines)[:20]:
        print(f"#   {line.rstrip()}")
    sys.exit(1)


def expand(group, cache={}):
    """The system calls in a systemd syscall group, nested groups included."""
    if group in cache:
        return cache[group]
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], check=True,
                         capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        calls |= expand(line) if line.startswith("@") else {line}
    if not calls:
        fail(f"systemd-analyze knows no syscall group {group}")
    cache[group] = calls
    return calls


def unit_settings(path):
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def allowed_syscalls(filters):
    """Apply SystemCallFilter= lines in order: the first decides allow- or deny-list mode."""
    allowed, denied, allow_mode = set(), set(), None
    for value in filters:
        deny = value.startswith("~")
        names = value.lstrip("~").split()
        if allow_mode is None:
            allow_mode = not deny
        calls = set()
        for n in names:
            calls |= expand(n) if n.startswith("@") else {n}
        if deny:
            allowed -= calls
            denied |= calls
        else:
            allowed |= calls
            denied -= calls
    if not allow_mode:
        fail("this test expects an allow-list SystemCallFilter=")
    return allowed


CALL = re.compile(r"^(\d+)\s+([a-z0-9_]+)\((.*)$")
FDPATH = re.compile(r"^\d+<(.*)>$")


def parse_open(args):
    """(path, flags) of an open/openat/creat call line, dirfd paths joined; None if unknown."""
    m = re.match(r'(?:(AT_FDCWD|\d+<[^>]*>|\d+),\s*)?"((?:[^"\\]|\\.)*)",\s*([A-Z_|0-9]+)', args)
    if not m:
        return None
    dirfd, path, flags = m.groups()
    if not path.startswith("/") and dirfd and dirfd != "AT_FDCWD":
        d = FDPATH.match(dirfd)
        path = os.path.join(d.group(1), path) if d else "?/" + path
    return os.path.normpath(path), flags


def main():
    if len(sys.argv) != 3:
        fail("usage: test-syscalls.py UNIT TEST-SOCKET-ACTIVATE")
    unit, scenario = sys.argv[1], sys.argv[2]
    if os.environ.get("ARENA_SANITIZE", "none") != "none":
        skip("sanitizer build: the runtime's own system calls would be traced too")
    strace = shutil.which("strace")
    if not strace:
        skip("strace is not installed")
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze is not installed")
    if not os.access(os.environ.get("ARENAD", ""), os.X_OK):
        skip("ARENAD does not name an executable arenad")

    settings = unit_settings(unit)
    allowed = allowed_syscalls(settings.get("SystemCallFilter", []))
    families = set()
    for v in settings.get("RestrictAddressFamilies", []):
        families |= set(v.split())
    if not families or any(f.startswith("~") for f in families):
        fail("this test expects an allow-list RestrictAddressFamilies=")

    tmp = tempfile.mkdtemp(prefix="arena-syscalls-")
    trace = os.path.join(tmp, "trace")
    env = dict(os.environ)
    env["ARENA_TEST_WRAPPER"] = f"{strace} -D -f -qq -y -s 256 -e signal=none -o {trace}"
    try:
        run = subprocess.run([scenario], env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        fail("the scenario under strace did not finish within 300 s")
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        fail(f"the scenario under strace failed with status {run.returncode}",
             run.stderr.splitlines())
    with open(trace, errors="replace") as f:
        lines = f.readlines()
    shutil.rmtree(tmp, ignore_errors=True)
    if not lines:
        fail("empty trace")

    seen, bad = set(), {}
    writes, devices, procs, families_bad, wx, ns, execs = [], [], [], [], [], [], []
    for line in lines:
        m = CALL.match(line)
        if not m:
            continue
        pid, call, args = m.groups()
        seen.add(call)
        if call not in allowed:
            bad.setdefault(call, line)
        if call in ("socket", "socketpair"):
            fam = args.split(",", 1)[0].strip()
            if fam not in families:
                families_bad.append(line)
        elif call in ("mmap", "mmap2"):
            parts = args.split(",")
            if len(parts) >= 3 and "PROT_WRITE" in parts[2] and "PROT_EXEC" in parts[2]:
                wx.append(line)
        elif call in ("mprotect", "pkey_mprotect"):
            parts = args.split(",")
            if len(parts) >= 3 and "PROT_EXEC" in parts[2]:
                wx.append(line)
        elif call in ("clone", "clone3", "unshare", "setns"):
            if "CLONE_NEW" in args:
                ns.append(line)
        elif call in ("execve", "execveat"):
            execs.append(line)
        elif call in ("open", "openat", "openat2", "creat"):
            parsed = parse_open(args)
            if not parsed:
                continue
            path, flags = parsed
            writing = call == "creat" or any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT"))
            if writing and path != "/dev/null" and "/state-" not in path:
                writes.append(line)
            if path.startswith("/dev/") and path not in DEVICES_OK:
                devices.append(line)
            if path.startswith("/proc/"):
                part = path.split("/")[2]
                if part not in ("self", "thread-self") and not part.isdigit():
                    procs.append(line)

    print(f"# {len(lines)} trace lines, {len(seen)} distinct system calls: {' '.join(sorted(seen))}")
    if bad:
        fail("system calls outside SystemCallFilter=: " + " ".join(sorted(bad)), bad.values())
    print("ok 1 - every system call is allowed by SystemCallFilter=")
    if families_bad:
        fail("sockets outside RestrictAddressFamilies=", families_bad)
    print("ok 2 - sockets only of RestrictAddressFamilies=")
    if wx:
        fail("writable+executable or newly executable memory (MemoryDenyWriteExecute=)", wx)
    print("ok 3 - no W+X memory")
    if ns:
        fail("new namespaces (RestrictNamespaces=)", ns)
    print("ok 4 - no namespaces")
    if len(execs) != 1:
        fail(f"{len(execs)} execve calls, expected exactly the one of arenad", execs)
    print("ok 5 - no exec after start")
    if writes:
        fail("files opened for writing outside the state directory (ProtectSystem=strict)",
             writes)
    print("ok 6 - writes only in the state directory")
    if devices:
        fail("devices that PrivateDevices= does not provide", devices)
    print("ok 7 - only /dev/null-like devices")
    if procs:
        fail("/proc entries hidden by ProcSubset=pid", procs)
    print("ok 8 - only per-process /proc entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
