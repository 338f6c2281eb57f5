#!/usr/bin/env bash
# test-arenactl-doc.sh: arenactl --help, arenactl(1) and docs/ADMIN.md say the same things.
#
# Usage: test-arenactl-doc.sh ARENACTL ARENACTL_1_SCD ADMIN_MD
#
# Every option and every command --help lists must be in the man page (as *name*) and every
# command in docs/ADMIN.md (as `name`); every exit status --help names must be a *N* item of
# the man page and a row of the ADMIN.md exit code table.
set -uo pipefail
ctl=${1:?usage}
man=${2:?usage}
doc=${3:?usage}
bad=0
miss() { echo "not ok - $*"; bad=1; }

help=$("$ctl" --help) || { echo "not ok - arenactl --help failed"; exit 1; }
opts=$(grep -oE '(^|[ ,])--?[a-zA-Z][a-z-]*' <<<"$help" | sed 's/^[ ,]//' | sort -u)
[ -n "$opts" ] || miss "no options found in --help"
for o in $opts; do
	grep -qF -- "*$o*" "$man" || miss "option $o is not in $man"
done
cmds=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | grep -oE '^  [a-z][a-z-]+' | tr -d ' ')
[ -n "$cmds" ] || miss "no commands found in --help"
for c in $cmds; do
	grep -qF -- "*$c*" "$man" || miss "command $c is not in $man"
	grep -qF -- "\`$c" "$doc" || miss "command $c is not in $doc"
done
codes=$(sed -n '/^Exit status:/,$p' <<<"$help" | grep -oE '(^|[ ;:] ?)[0-9]+ ' | grep -oE '[0-9]+')
[ -n "$codes" ] || miss "no exit statuses found in --help"
for n in $codes; do
	grep -qx "\*$n\*" "$man" || miss "exit status $n is not in $man"
	grep -qE "^\| $n \|" "$doc" || miss "exit status $n is not in $doc"
done
[ "$bad" = 0 ] && echo "ok - arenactl --help, its man page and docs/ADMIN.md agree"
exit "$bad"
