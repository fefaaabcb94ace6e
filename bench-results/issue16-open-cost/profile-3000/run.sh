#!/usr/bin/env bash
cd /work/main
export JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer"
bench/bin/rendezvous-bench harness --sections http --rate 3000 --sla-seconds 30 --soak-seconds 0 --open-warmup 5 --out /tmp/prof2/out > /tmp/prof2/console.txt 2>&1 &
until grep -q "Open model at 80%" /tmp/prof2/console.txt 2>/dev/null; do sleep 0.5; done
sleep 3
pid=$(pgrep -f "BenchMain harness" | head -1)
echo $pid > /tmp/prof2/pid
perf record -F 499 -g -p $pid -o /tmp/prof2/perf.data -- sleep 15 2>/tmp/prof2/perf.err
wait
perf script -i /tmp/prof2/perf.data -F comm,tid,ip,sym > /tmp/prof2/script.txt 2>/dev/null
echo done
