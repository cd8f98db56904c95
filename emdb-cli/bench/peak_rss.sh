#!/usr/bin/env bash
# peak_rss.sh OUT CMD...: runs CMD with its standard output in OUT, samples /proc/<pid>/status
# every 20 ms and prints the peaks of RssAnon (the process's own memory) and RssFile (mapped
# file pages, here the database's page file read through the mapping).
set -u
out=$1; shift
"$@" > "$out" & pid=$!
anon=0; file=0
while kill -0 "$pid" 2>/dev/null; do
  read -r a f < <(awk '/RssAnon/{a=$2} /RssFile/{f=$2} END{print a+0, f+0}' "/proc/$pid/status" 2>/dev/null)
  [ "${a:-0}" -gt "$anon" ] && anon=$a
  [ "${f:-0}" -gt "$file" ] && file=$f
  sleep 0.02
done
wait "$pid"
echo "peak RssAnon ${anon} KiB, peak RssFile ${file} KiB"
