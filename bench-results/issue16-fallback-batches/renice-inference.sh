#!/bin/bash
# renice the harness JVM's inference threads to $1 every 2 s (they may be added later)
N=$1
while true; do
  pid=$(pgrep -f 'io.rendezvous.bench.BenchMain harness' | head -1)
  if [ -n "$pid" ]; then
    for t in /proc/$pid/task/*; do
      if grep -q '^rendezvous-inf' $t/comm 2>/dev/null; then renice -n $N -p $(basename $t) >/dev/null 2>&1; fi
    done
  fi
  sleep 2
done
