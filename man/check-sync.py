#!/usr/bin/env python3
# check-sync.py: the man pages document exactly what arenad --help and the sample config offer.
#
# Cross-checks the sources, not the rendered pages: every option and exit status that
# `arenad --help` prints must appear in bold in arenad.8.scd; the keys of the sample
# arenad.conf and the "*key* = ..." definitions of arenad.conf.5.scd must be the same set, in
# the same sections, with the same defaults (for keys the sample sets) and the same ranges (every
# "a..b" in the sample's comment above a key must be in its man entry), and each man entry must
# say "Reloadable" or "Restart needed" as the sample's header says (every key of [limits] is
# reloadable, stated once for the section).
#
# usage: check-sync.py ARENAD SAMPLE_CONF ARENAD_8_SCD ARENAD_CONF_5_SCD
import re
import subprocess
import sys

problems = []


def problem(text):
    problems.append(text)


def help_text(arenad):
    run = subprocess.run([arenad, "--help"], capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        problem(f"arenad --help exited with {run.returncode}")
    return run.stdout


def check_options(help_out, man8):
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_out))
    options |= set(re.findall(r"(?<![\w-])(-[A-Za-z])(?=[,\s])", help_out))
    if not options:
        problem("no options found in arenad --help")
    for opt in sorted(options):
        if f"*{opt}*" not in man8:
            problem(f"option {opt} (arenad --help) is not documented in arenad.8.scd")
    section = re.search(r"^Exit status:\n((?:[ \t]+.*\n)+)", help_out, re.M)
    codes = re.findall(r"^\s+(\d+)\s", section.group(1), re.M) if section else []
    if not codes:
        problem("no exit statuses found in arenad --help")
    for code in codes:
        if f"\n*{code}*\n" not in man8:
            problem(f"exit status {code} (arenad --help) is not documented in arenad.8.scd")
    for sig in re.findall(r"^\s+([A-Z]{3,4})(?:, ([A-Z]{3,4}))?\s", help_out, re.M):
        for s in filter(None, sig):
            if f"*SIG{s}*" not in man8:
                problem(f"signal {s} (arenad --help) is not documented in arenad.8.scd")
    return options


RANGE = re.compile(r"\b\d+[a-z]*\.\.\d+[a-z]*\b")


def sample_keys(conf):
    """{key: (section, value or None if commented out)}, {key: ranges in its comment} and the
    header's reload lists."""
    keys, ranges, section, comment = {}, {}, None, ""
    for line in conf.splitlines():
        m = re.match(r"^\[([a-z]+)\]\s*$", line)
        if m:
            section, comment = m.group(1), ""
            continue
        m = re.match(r"^\s*([#;]?)\s*([a-z_][a-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if m and section:
            commented, key, value = m.groups()
            if key in keys and keys[key][1] is not None and commented:
                continue
            keys[key] = (section, None if commented else value)
            ranges[key] = set(RANGE.findall(comment))
            comment = ""
        elif line.lstrip().startswith(("#", ";")):
            comment += line + "\n"
    header = conf.split("\n[", 1)[0]
    live = re.search(r"take effect on reload:(.*?)These keys", header, re.S)
    restart = re.search(r"need a restart[^:]*:(.*?)(?:\n#\s*\n|\n\s*\n|$)", header, re.S)
    if not live or not restart:
        problem("the sample's header does not list reloadable and restart-only keys")
        return keys, ranges, set(), set()
    live_keys = set(re.findall(r"[a-z_]+", live.group(1))) & set(keys)
    if "[limits]" in live.group(1):
        live_keys |= {k for k, (s, _) in keys.items() if s == "limits"}
    restart_keys = set(re.findall(r"[a-z_]+", restart.group(1))) & set(keys)
    return keys, ranges, live_keys, restart_keys


def man_keys(man5):
    """{key: (section, entry text)} from '# SECTION [x]' headers and '*key* = ' lines."""
    keys, section, current = {}, None, None
    section_text = {}
    for line in man5.splitlines():
        m = re.match(r"^# SECTION \[([a-z]+)\]", line)
        if m:
            section, current = m.group(1), None
            section_text[section] = ""
            continue
        if line.startswith("# "):
            section, current = None, None
            continue
        m = re.match(r"^\*([a-z_][a-z0-9_]*)\* = ", line)
        if m and section:
            current = m.group(1)
            if current in keys:
                problem(f"key {current} is defined twice in arenad.conf.5.scd")
            keys[current] = [section, ""]
            continue
        if current and (line.startswith("\t") or not line.strip()):
            keys[current][1] += line.strip() + " "
        elif section:
            current = None
            section_text[section] += line + " "
    return {k: tuple(v) for k, v in keys.items()}, section_text


def check_keys(conf, man5):
    sample, ranges, live, restart = sample_keys(conf)
    man, section_text = man_keys(man5)
    if not sample:
        problem("no keys found in the sample config")
    for key, (section, value) in sorted(sample.items()):
        if key not in man:
            problem(f"key {key} ([{section}] in the sample) is not documented in arenad.conf.5.scd")
            continue
        msection, text = man[key]
        if msection != section:
            problem(f"key {key} is in [{section}] in the sample but in [{msection}] in the man page")
        if value is not None and f"Default: _{value}_" not in text:
            problem(f"key {key}: the sample's default '{value}' is not the man page's")
        for r in sorted(ranges.get(key, ())):
            if r not in text:
                problem(f"key {key}: the sample's range {r} is not in the man page's entry")
        all_live = "Every key of this section is reloadable" in section_text.get(msection, "")
        says_live = "Reloadable" in text or all_live
        says_restart = "Restart needed" in text
        if key in live and (not says_live or says_restart):
            problem(f"key {key} is reloadable in the sample; the man page must say so")
        if key in restart and (not says_restart or says_live):
            problem(f"key {key} needs a restart per the sample; the man page must say so")
        if key not in live and key not in restart:
            problem(f"key {key} is in neither reload list of the sample's header")
    for key, (section, _) in sorted(man.items()):
        if key not in sample:
            problem(f"arenad.conf.5.scd documents [{section}] {key}, which the sample lacks")
    return sample


def main():
    if len(sys.argv) != 5:
        print("usage: check-sync.py ARENAD SAMPLE_CONF ARENAD_8_SCD ARENAD_CONF_5_SCD")
        return 2
    arenad, conf_path, man8_path, man5_path = sys.argv[1:]
    with open(conf_path) as f:
        conf = f.read()
    with open(man8_path) as f:
        man8 = f.read()
    with open(man5_path) as f:
        man5 = f.read()
    options = check_options(help_text(arenad), man8)
    keys = check_keys(conf, man5)
    for p in problems:
        print(f"# {p}")
    if problems:
        print(f"not ok - {len(problems)} differences between the man pages and their sources")
        return 1
    print(f"ok 1 - arenad.8: {len(options)} options of --help documented")
    print(f"ok 2 - arenad.conf.5: {len(keys)} keys agree with the sample "
          "(section, default, range, reload)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
