#!/usr/bin/env bash
# Concurrency bench: CALLS calls in flight at once through one gateway (every guarantee on), each held by a slow
# stand-in upstream: non-streamed calls answered after ANSWER_MS, then streams lasting STREAM_MS. The gateway,
# the upstream and the load generator run in JVMs of their own. Reports, per run: calls answered, time to first
# byte, the slowest call, a new call's time to first byte meanwhile vs idle, and the gateway's peak heap and
# threads. Results in target/bench-concurrency/concurrency.txt and docs/benchmarks.md. It measures, it does not
# assert.
#
#   bash bench/concurrency.sh                                  # 10,000 calls, 10 s answers, 25 s streams, after a
#                                                                20 s warm-up (WARMUP_S)
#   CALLS=100 ANSWER_MS=1000 STREAM_MS=1500 PROBES=3 KAFKA=false bash bench/concurrency.sh   # the CI smoke's
#                                                   settings (no broker: the outbox keeps the events)
#
# Each call in flight holds two sockets in the gateway (caller and upstream) and one in each of the others, so
# the script raises the open-files limit to the hard limit; if that still cannot hold CALLS calls, it says so
# and runs as many as fit. It checks that the ephemeral port range can hold them.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${CALLS:-10000}
ANSWER_MS=${ANSWER_MS:-10000}
STREAM_MS=${STREAM_MS:-25000}
EVENT_MS=${EVENT_MS:-500}
RAMP=${RAMP:-2000}
PROBES=${PROBES:-20}
# seconds of short calls (streams of ten events, and non-streamed answered at once; 16 callers) before the runs,
# so that the runs measure a gateway that has been serving rather than one compiling its code meanwhile; 0: none
WARMUP_S=${WARMUP_S:-20}
MODES=${MODES:-plain,stream}
OUT=target/bench-concurrency
mkdir -p "$OUT"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FILES=$(ulimit -n)
FIT=$(( (FILES - 1000) / 2 ))
if [ "$FIT" -lt "$CALLS" ]; then
  echo "[concurrency] the open-files limit here is $FILES (hard limit $(ulimit -Hn)): the gateway needs two" \
       "sockets per call in flight, so at most $FIT calls fit; running $FIT instead of $CALLS"
  CALLS=$FIT
fi
# ephemeral ports: Linux shares a local port among connections to different destinations, so the default range
# (32768-60999) holds CALLS connections to the gateway plus CALLS from the gateway to the upstream. The range is
# machine-wide (other services bind ports in it), so it is checked, never changed here
read -r LOW HIGH < /proc/sys/net/ipv4/ip_local_port_range
if [ $(( HIGH - LOW )) -lt "$CALLS" ]; then
  echo "[concurrency] the ephemeral port range $LOW-$HIGH is narrower than $CALLS calls: widen it" \
       "(sysctl net.ipv4.ip_local_port_range) or lower CALLS"
  exit 1
fi
echo "[concurrency] open files $(ulimit -n); ephemeral ports $LOW-$HIGH"

if [ -z "${BENCH_CLASSPATH:-}" ]; then # the CI smoke passes the test classpath it already has
  mvn -q -B ${MVN_OPTS:-} -DskipTests test-compile
  mvn -q -B ${MVN_OPTS:-} dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/classpath.txt" >/dev/null
  BENCH_CLASSPATH="target/test-classes:target/classes:$(cat "$OUT/classpath.txt")"
fi
# the JDK: $JAVA, else $JAVA_HOME's (the published runs: Temurin 25, as .ci/run), else java on the PATH; the
# gateway and the stand-in upstream run on the same one
exec "${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}" -cp "$BENCH_CLASSPATH" \
  -Dcalls="$CALLS" -Danswer-ms="$ANSWER_MS" -Dstream-ms="$STREAM_MS" -Devent-ms="$EVENT_MS" \
  -Dramp-per-second="$RAMP" -Dprobes="$PROBES" -Dwarmup-seconds="$WARMUP_S" -Dmodes="$MODES" -Dkafka="${KAFKA:-true}" ${GATEWAY_JVM:+-Dgateway.jvm="$GATEWAY_JVM"} \
  attest.bench.ConcurrencyBench
