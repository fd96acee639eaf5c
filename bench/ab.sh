#!/usr/bin/env bash
# A/B of the data path between two versions of the code, side by side in one run: a bench stack on the main classes
# of BASE (a git ref, built in a worktree under target/bench/ab-base) and one on this checkout's, both up at once,
# then ROUNDS rounds that take turns between them (saturated, then one connection, on each), so that a shared,
# drifting machine hits both alike. Prints, per round and as medians: requests/s saturated, the stack's JVM CPU and
# its PostgreSQL's CPU per call (ms, from /proc), the 1-connection p50, the stack JVM's context switches per call at
# one connection (every thread that parks and is woken counts: the hand-offs of a call, a figure that a loaded
# machine moves far less than latency) and the median time to first byte of STREAMS streams, each on a new connection. The same static nginx upstream and
# request as bench/run.sh (bench/lib.sh); each stack has its own PostgreSQL and Kafka broker, Keycloak is shared.
#
# With the same code on both stacks (an A/A run, 2026-12-02 16:35 UTC; docs/benchmarks.md) the head stack's
# 1-connection p50 was about 0.7 ms lower than base's in every round, also with head first in each round
# (ROUND_ORDER="head base"); cause not found: compare that figure only against an A/A run beside it.
#
#   bash bench/ab.sh f5fb005                       # BASE against this checkout, 5 rounds
#   ROUNDS=9 WARMUP=90s DURATION=10s bash bench/ab.sh HEAD~3
#
# Needs nginx, wrk (Debian's packages, installed if missing), curl and python3. Not run by mvn verify.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bench
mkdir -p "$OUT"
JAVA=${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}

if [ "${1:-}" = "--stack" ]; then # internal: one stack on these main classes until $OUT/ab-$2.stop exists
  NAME=$2 CLASSES=$3
  . bench/lib.sh
  BENCH_CLASSPATH="$CLASSES:target/test-classes:$(cat "$OUT/classpath.txt")"
  bench_tools
  bench_nginx
  if [ "$NAME" = base ]; then # the routes are files: the base's own, beside its classes
    bench_stack "-Dbench.routes=file:$(pwd)/$OUT/ab-base/routes/*.camel.yaml"
  else
    bench_stack
  fi
  port=$(prop jdbc | sed 's/.*:\([0-9]*\)\/.*/\1/')
  pg=$(pgrep -f -- "-p $port" | head -1 || true)
  printf 'GATEWAY=%s\nSTACK=%s\nPG=%s\n' "$(prop gateway)" "$STACK" "${pg:-0}" > "$OUT/ab-$NAME.env.tmp"
  mv "$OUT/ab-$NAME.env.tmp" "$OUT/ab-$NAME.env"
  while [ ! -f "$OUT/ab-$NAME.stop" ]; do sleep 1; done
  exit 0
fi

BASE=${1:?usage: bash bench/ab.sh BASE-REF}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-60s}
DURATION=${DURATION:-10s}
SECONDS_MEASURED=$(( ${DURATION%s} - 1 ))
. bench/lib.sh
bench_tools
echo "[ab] building this checkout and $BASE"
mvn -q -B ${MVN_OPTS:-} -DskipTests test-compile
mvn -q -B ${MVN_OPTS:-} dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/classpath.txt" >/dev/null
git worktree remove -f "$OUT/ab-base" 2>/dev/null || rm -rf "$OUT/ab-base"
git worktree add -f -q --detach "$OUT/ab-base" "$BASE"
(cd "$OUT/ab-base" && mvn -q -B ${MVN_OPTS:-} -DskipTests compile)
rm -f "$OUT"/ab-*.env "$OUT"/ab-*.stop "$OUT/ab-rounds.txt"
cleanup() {
  touch "$OUT/ab-base.stop" "$OUT/ab-head.stop"
  wait 2>/dev/null || true
  git worktree remove -f "$OUT/ab-base" 2>/dev/null || true
}
trap cleanup EXIT
# one after the other: each writes target/bench/ready.properties while it starts
for n in base head; do
  classes=target/classes
  [ $n = base ] && classes="$OUT/ab-base/target/classes"
  bash bench/ab.sh --stack $n "$classes" > "$OUT/ab-$n.log" 2>&1 &
  for _ in $(seq 1 600); do [ -f "$OUT/ab-$n.env" ] && break; sleep 1; done
  [ -f "$OUT/ab-$n.env" ] || { echo "[ab] the $n stack did not start: $OUT/ab-$n.log"; exit 1; }
done
declare -A GW ST PG
for n in base head; do
  GW[$n]=$(grep ^GATEWAY= "$OUT/ab-$n.env" | cut -d= -f2-)
  ST[$n]=$(grep ^STACK= "$OUT/ab-$n.env" | cut -d= -f2)
  PG[$n]=$(grep ^PG= "$OUT/ab-$n.env" | cut -d= -f2)
done
echo "[ab] warming up each gateway for $WARMUP"
for n in base head; do
  BENCH_AUTH="$(bench_token)" wrk -t2 -c32 -d"$WARMUP" -s bench/chat.lua "${GW[$n]}/llm/v1/chat/completions" > /dev/null
  BENCH_AUTH="$(bench_token)" wrk -t1 -c4 -d"${STREAM_WARMUP:-15s}" -s bench/stream.lua "${GW[$n]}/llm/v1/chat/completions" > /dev/null
done
switches() { # context switches (voluntary and not) of every thread of a process: each is a thread parking or preempted
  python3 - "$1" <<'PY'
import os, sys
t = 0
for tid in os.listdir(f'/proc/{sys.argv[1]}/task'):
    try:
        for line in open(f'/proc/{sys.argv[1]}/task/{tid}/status'):
            if 'ctxt_switches' in line:
                t += int(line.split()[1])
    except Exception:
        pass
print(t)
PY
}
ttfb() { # median time to first byte of STREAMS streams, each on a new connection (ms)
  for _ in $(seq 1 "${STREAMS:-20}"); do
    curl -s -N -o /dev/null -w '%{time_starttransfer}\n' -H "Authorization: Bearer $2" \
      -H 'Content-Type: application/json' -H 'X-Bench-Stream: 1' \
      -d '{"model":"demo-model","stream":true,"messages":[{"role":"user","content":"one two three four"}]}' "$1"
  done | python3 -c 'import statistics, sys; print("%.2f" % (1000 * statistics.median(float(l) for l in sys.stdin)))'
}
cpu() { # seconds of CPU of a process and its children (live, and reaped), from /proc
  python3 - "$@" <<'PY'
import os, sys
pids, kids = set(), {}
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            kids.setdefault(int(open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1]), []).append(int(p))
        except Exception:
            pass
todo = [int(a) for a in sys.argv[1:] if a != '0']
while todo:
    x = todo.pop(); pids.add(x); todo += kids.get(x, [])
t = 0
for p in pids:
    try:
        # and the children it reaped: PostgreSQL's autovacuum workers end within a round, and their CPU moves
        # into the postmaster's children time (without it a round lost their CPU, and could read negative)
        f = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split(); t += sum(int(x) for x in f[11:15])
    except Exception:
        pass
print(t / os.sysconf('SC_CLK_TCK'))
PY
}
printf '%-5s %-4s %10s %10s %10s %10s %10s %10s\n' round code "req/s" "gw ms/call" "pg ms/call" "1-conn p50" \
  "cs/call" "ttfb ms" | tee "$OUT/ab-rounds.txt"
for r in $(seq 1 "$ROUNDS"); do
  token=$(bench_token)
  for n in ${ROUND_ORDER:-base head}; do # ROUND_ORDER="head base": head first in each round
    BENCH_AUTH="$token" wrk -t2 -c32 -d"$DURATION" -s bench/chat.lua "${GW[$n]}/llm/v1/chat/completions" > "$OUT/ab-sat.txt" &
    w=$!
    sleep 0.5; g0=$(cpu "${ST[$n]}"); p0=$(cpu "${PG[$n]}")
    sleep "$SECONDS_MEASURED"; g1=$(cpu "${ST[$n]}"); p1=$(cpu "${PG[$n]}")
    wait $w
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/ab-sat.txt")
    c0=$(switches "${ST[$n]}")
    BENCH_AUTH="$token" wrk -t1 -c1 -d"$DURATION" --latency -s bench/chat.lua "${GW[$n]}/llm/v1/chat/completions" > "$OUT/ab-one.txt"
    c1=$(switches "${ST[$n]}")
    calls=$(awk '/requests in/ {print $1}' "$OUT/ab-one.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$OUT/ab-one.txt")
    t=$(ttfb "${GW[$n]}/llm/v1/chat/completions" "$token")
    python3 -c "import sys; r,g0,g1,p0,p1,s,c0,c1,k=map(float,sys.argv[1:10]); print('%-5s %-4s %10.0f %10.3f %10.3f %10s %10.1f %10s' % ('$r', '$n', r, (g1-g0)/(r*s)*1000, (p1-p0)/(r*s)*1000, '$p50', (c1-c0)/k, '$t'))" \
      "$rps" "$g0" "$g1" "$p0" "$p1" "$SECONDS_MEASURED" "$c0" "$c1" "$calls" | tee -a "$OUT/ab-rounds.txt"
  done
done
python3 - "$OUT/ab-rounds.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
def ms(v):
    return float(v[:-2]) if v.endswith('ms') else float(v[:-2]) / 1000 if v.endswith('us') else float(v[:-1]) * 1000
for code in ('base', 'head'):
    rs = [r for r in rows if r[1] == code]
    print('[ab] median %-4s: %6.0f req/s, gateway %.3f ms CPU/call, PostgreSQL %.3f ms CPU/call, 1-connection p50 %.2f ms,'
          ' %.1f context switches/call at 1 connection, stream TTFB %.2f ms (new connection)'
          % (code, statistics.median(float(r[2]) for r in rs), statistics.median(float(r[3]) for r in rs),
             statistics.median(float(r[4]) for r in rs), statistics.median(ms(r[5]) for r in rs),
             statistics.median(float(r[6]) for r in rs), statistics.median(float(r[7]) for r in rs)))
PY
