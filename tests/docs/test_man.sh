#!/bin/sh
# Every man page renders with man -l: no groff warnings, and it has its NAME section.
# Usage: test_man.sh PAGE... Exit 77 (skip) outside CI without man-db; in CI a failure.
if ! command -v man >/dev/null; then
  if [ -n "${CI-}" ] && [ "$CI" != false ]; then echo "FAIL: man (man-db) is missing"; exit 1; fi
  echo "SKIP: man (man-db) is missing"; exit 77
fi
status=0
for page in "$@"; do
  err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null)
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null)
  name=$(basename "$page" | sed 's/\.[0-9]$//')
  if [ -n "$err" ]; then
    echo "FAIL: $page: $err"; status=1
  elif ! printf '%s\n' "$out" | grep -q "^NAME" || ! printf '%s\n' "$out" | grep -q "$name - "; then
    echo "FAIL: $page: no NAME section for $name"; status=1
  else
    echo "ok: $page ($(printf '%s\n' "$out" | wc -l) lines)"
  fi
done
exit $status
