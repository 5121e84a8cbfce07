#!/bin/sh
# A bridge that fails to start and says so the way real ones do: colour codes, a bell, a
# stray control character and a byte that is not UTF-8 (cli/report/junit.test.ts).
printf '\033[1;31mFATAL\033[0m modem on %s not answering \001\007 \377 (\033]0;title\007)\n' "$1" >&2
exit 3
