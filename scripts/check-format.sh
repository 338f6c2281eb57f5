#!/usr/bin/env bash
# check-format.sh: fail if any tracked C source or header differs from .clang-format's style.
# Registered as the 'clang-format' unit test; `clang-format -i FILE` fixes a reported file.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
command -v clang-format >/dev/null || { echo "clang-format not installed"; exit 77; }
if git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h')
else
	mapfile -t files < <(find . -path './build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "${#files[@]} files follow .clang-format"
exit "$bad"
