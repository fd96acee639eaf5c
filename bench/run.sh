#!/usr/bin/env bash
# Attest data-path benchmark, side by side in one run against one static upstream (an nginx that answers a
# chat completion, or with the header X-Bench-Stream: 1 a server-sent event stream): the upstream directly, a
# plain nginx reverse proxy in front of it, and the gateway with everything on (identity, policy, credential
# brokering, masking, evidence committed to PostgreSQL and relayed to Kafka); and the time to first byte of
# streams directly, through the nginx proxy, and through Attest with masking on and off.
#
#   bash bench/run.sh                 # defaults: 20 s per run, 32 connections, 2 threads, 180 s warm-up
#   JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 bash bench/run.sh   # as published: build and stack on Temurin 25
#   JAVA=/usr/lib/jvm/java-17-openjdk-amd64/bin/java bash bench/run.sh   # the stack on another JDK
#   DURATION=60s CONNECTIONS=64 bash bench/run.sh
#   DURATION=1s WARMUP=1s STREAM_WARMUP=1s STREAMS=3 KAFKA=false bash bench/run.sh   # the CI smoke's settings
#                                                                    # (no broker: the outbox keeps the events)
#   BENCH_PROMPT_BYTES=8192 bash bench/run.sh   # every run with an 8 KiB prompt instead of "hello" (bench/chat.lua)
#   PROFILE=1 bash bench/run.sh       # then one extra saturated run through Attest under JFR (CPU samples), written to
#                                     # target/bench/flame.svg, flame.collapsed and profile.txt (bench/flame.py)
#
# Prints throughput, p50 and p99 of each, the ratios (Attest / nginx proxy, Attest / direct), the latency
# that the proxy and Attest add at one connection (p50/p99) and the added time to first byte of streams
# (median of STREAMS runs each, a new connection each; and one after another on one kept-alive connection,
# after STREAM_WARMUP of streams on each gateway). Needs nginx and wrk (both installed from Debian's packages if missing), curl
# and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-30}
# the JIT keeps compiling for minutes under this load (a 2026-11-29 run still gained 50% after 2 minutes): warm long
WARMUP=${WARMUP:-180s}
# then the stream path, on each gateway (with and without masking)
STREAM_WARMUP=${STREAM_WARMUP:-30s}
# the JDK that runs the stack: $JAVA, else $JAVA_HOME's (the published runs: Temurin 25, as .ci/run), else java on
# the PATH; its jcmd and jfr profile it
JAVA=${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}
JDK_BIN=$(dirname "$(readlink -f "$(command -v "$JAVA")")")
OUT=target/bench
mkdir -p "$OUT"

. bench/lib.sh
bench_tools
bench_nginx
bench_stack
GATEWAY=$(prop gateway); UNMASKED=$(prop gateway_unmasked); KEY=$(prop demo_key); TOKEN=$(prop token)

run_wrk() { # name url auth
  wrk_to "$OUT/$1.txt" "$2" "$3"
}
echo "[bench] warming up the gateway"
BENCH_AUTH="$TOKEN" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/chat.lua "$GATEWAY/llm/v1/chat/completions" > /dev/null
echo "[bench] wrk: direct, $CONNECTIONS connections"
run_wrk direct "$STATIC/v1/chat/completions" "$KEY"
echo "[bench] wrk: nginx reverse proxy, $CONNECTIONS connections"
run_wrk nginx "$PROXY/v1/chat/completions" "$KEY"
echo "[bench] wrk: through Attest, $CONNECTIONS connections"
TOKEN=$(bench_token)
run_wrk gateway "$GATEWAY/llm/v1/chat/completions" "$TOKEN"
if [ "${PROFILE:-0}" = 1 ]; then
  # PROFILE=1: one more saturated run through Attest, not the measured one, with a JFR recording of the gateway's
  # JVM that samples CPU only (JFR's stock "profile" settings also record allocations, locks and parks with their
  # stacks, and cut the gateway's throughput several times over), rendered as a flame graph
  cat > "$OUT/cpu.jfc" <<'JFC'
<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0">
  <event name="jdk.ExecutionSample"><setting name="enabled">true</setting><setting name="period">10 ms</setting></event>
</configuration>
JFC
  "$JDK_BIN/jcmd" "$STACK" JFR.start name=bench settings="$(pwd)/$OUT/cpu.jfc" filename="$(pwd)/$OUT/saturated.jfr" >/dev/null
  TOKEN=$(bench_token)
  run_wrk gateway-profiled "$GATEWAY/llm/v1/chat/completions" "$TOKEN"
  "$JDK_BIN/jcmd" "$STACK" JFR.stop name=bench >/dev/null
  JAVA_HOME="$(dirname "$JDK_BIN")" python3 bench/flame.py "$OUT/saturated.jfr" "$OUT/flame" > "$OUT/profile.txt" && head -3 "$OUT/profile.txt"
  grep "Requests/sec" "$OUT/gateway-profiled.txt" | sed 's/^/[bench] profiled run (not measured): /'
fi
# one connection: the latency each call gains, without queueing behind other calls
CONNECTIONS=1 THREADS=1
echo "[bench] wrk: direct, 1 connection"
run_wrk direct-1 "$STATIC/v1/chat/completions" "$KEY"
echo "[bench] wrk: nginx reverse proxy, 1 connection"
run_wrk nginx-1 "$PROXY/v1/chat/completions" "$KEY"
echo "[bench] wrk: through Attest, 1 connection"
TOKEN=$(bench_token)
run_wrk gateway-1 "$GATEWAY/llm/v1/chat/completions" "$TOKEN"

ttfb() { # url auth
  for _ in $(seq 1 "$STREAMS"); do
    curl -s -N -o /dev/null -w '%{time_starttransfer}\n' -H "Authorization: Bearer $2" \
      -H 'Content-Type: application/json' -H 'X-Bench-Stream: 1' \
      -d '{"model":"demo-model","stream":true,"messages":[{"role":"user","content":"one two three four"}]}' "$1"
  done
}
# the stream path (relay, stream masking) is code of its own: warm it too, or the first streams measure the JIT
echo "[bench] warming up the stream path"
TOKEN=$(bench_token)
BENCH_AUTH="$TOKEN" wrk -t1 -c4 -d"$STREAM_WARMUP" -s bench/stream.lua "$GATEWAY/llm/v1/chat/completions" > /dev/null
BENCH_AUTH="$TOKEN" wrk -t1 -c4 -d"$STREAM_WARMUP" -s bench/stream.lua "$UNMASKED/llm/v1/chat/completions" > /dev/null
# streams one after another on one kept-alive connection: the one-event stream's whole time is its first byte
echo "[bench] wrk: streams on one connection, direct, nginx reverse proxy and Attest"
BENCH_AUTH="$KEY" wrk -t1 -c1 -d"$DURATION" --latency -s bench/stream.lua "$STATIC/v1/chat/completions" > "$OUT/stream-direct-1.txt"
BENCH_AUTH="$KEY" wrk -t1 -c1 -d"$DURATION" --latency -s bench/stream.lua "$PROXY/v1/chat/completions" > "$OUT/stream-nginx-1.txt"
BENCH_AUTH="$TOKEN" wrk -t1 -c1 -d"$DURATION" --latency -s bench/stream.lua "$GATEWAY/llm/v1/chat/completions" > "$OUT/stream-gateway-1.txt"
echo "[bench] time to first byte of streams, each on a new connection (curl)"
ttfb "$STATIC/v1/chat/completions" "$KEY" > "$OUT/ttfb-direct.txt"
ttfb "$PROXY/v1/chat/completions" "$KEY" > "$OUT/ttfb-nginx.txt"
TOKEN=$(bench_token)
ttfb "$GATEWAY/llm/v1/chat/completions" "$TOKEN" > "$OUT/ttfb-gateway.txt"
ttfb "$UNMASKED/llm/v1/chat/completions" "$TOKEN" > "$OUT/ttfb-unmasked.txt"

python3 - "$OUT" <<'PY'
import re, statistics, sys
out = sys.argv[1]
def wrk(name):
    t = open(f"{out}/{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    def pct(p):
        v, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", t).groups()
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non200 = int(re.search(r"non-200: (\d+)", t).group(1))
    errors = re.search(r"Socket errors:.*", t)
    return rps, pct(50), pct(99), non200, errors.group(0) if errors else "none"
d, n, g = wrk("direct"), wrk("nginx"), wrk("gateway")
d1, n1, g1 = wrk("direct-1"), wrk("nginx-1"), wrk("gateway-1")
def ms(name):
    return [float(x) * 1000 for x in open(f"{out}/ttfb-{name}.txt").read().split()]
td, tn, tg, tu = ms("direct"), ms("nginx"), ms("gateway"), ms("unmasked")
med = statistics.median
print()
print("| run | requests/s | p50 ms | p99 ms | non-200 | socket errors |")
print("|---|---|---|---|---|---|")
for label, r in (("direct (static nginx upstream)", d), ("nginx reverse proxy", n), ("through Attest", g),
                 ("direct, 1 connection", d1), ("nginx reverse proxy, 1 connection", n1),
                 ("through Attest, 1 connection", g1)):
    print(f"| {label} | {r[0]:.0f} | {r[1]:.2f} | {r[2]:.2f} | {r[3]} | {r[4]} |")
print()
print(f"saturated throughput: Attest / nginx proxy {g[0]/n[0]:.3f} (target 0.25, moonshot 0.50); "
      f"Attest / direct {g[0]/d[0]:.3f}; nginx proxy / direct {n[0]/d[0]:.3f}")
print(f"added latency at 1 connection: nginx proxy p50 +{n1[1]-d1[1]:.2f} ms, p99 +{n1[2]-d1[2]:.2f} ms; "
      f"Attest p50 +{g1[1]-d1[1]:.2f} ms, p99 +{g1[2]-d1[2]:.2f} ms (target p50 <= 1 ms, p99 <= 5 ms)")
print(f"added latency under saturation: Attest p50 +{g[1]-d[1]:.2f} ms, p99 +{g[2]-d[2]:.2f} ms")
s1d, s1n, s1g = wrk("stream-direct-1"), wrk("stream-nginx-1"), wrk("stream-gateway-1")
print(f"streams on one kept-alive connection, whole one-event stream p50: direct {s1d[1]:.2f} ms, nginx proxy "
      f"{s1n[1]:.2f} ms (+{s1n[1]-s1d[1]:.2f}), Attest {s1g[1]:.2f} ms (+{s1g[1]-s1d[1]:.2f}), non-200 {s1g[3]}")
print(f"stream time to first byte, new connection each (median of {len(td)}): direct {med(td):.2f} ms, nginx proxy {med(tn):.2f} ms "
      f"(+{med(tn)-med(td):.2f}), Attest {med(tg):.2f} ms (+{med(tg)-med(td):.2f}, target <= 2 ms); "
      f"Attest with masking off {med(tu):.2f} ms (+{med(tu)-med(td):.2f})")
PY
