#!/usr/bin/env bash
# Attest data-path benchmark: the demo upstream directly vs. through the gateway, side by side in one run
# (identity, policy, credential brokering, masking, evidence committed to PostgreSQL and relayed to Kafka:
# all on), and the time to first byte of streams with masking on and off.
#
#   bash bench/run.sh                 # defaults: 20 s per run, 32 connections, 2 threads
#   DURATION=60s CONNECTIONS=64 bash bench/run.sh
#
# Prints throughput, p50 and p99 for both, the throughput ratio, the added p50/p99, and the time to
# first byte of streamed answers (median of STREAMS runs each way). Needs wrk (installed from Debian's
# packages if missing), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-30}
OUT=target/bench
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk"
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi

echo "[bench] building"
mvn -q -B -DskipTests test-compile
rm -f "$OUT/ready.properties"
mkfifo "$OUT/stdin.$$"
mvn -q -B exec:java -Dexec.mainClass=attest.stack.BenchStack -Dexec.classpathScope=test \
  -Dexec.cleanupDaemonThreads=false < "$OUT/stdin.$$" > "$OUT/stack.log" 2>&1 &
STACK=$!
exec 3> "$OUT/stdin.$$"
cleanup() { exec 3>&-; wait "$STACK" 2>/dev/null || true; rm -f "$OUT/stdin.$$"; }
trap cleanup EXIT
echo "[bench] starting the stack (Keycloak, Kafka, PostgreSQL, demo upstream, gateway); log: $OUT/stack.log"
for _ in $(seq 1 300); do [ -f "$OUT/ready.properties" ] && break; sleep 1; kill -0 "$STACK" 2>/dev/null || { cat "$OUT/stack.log"; exit 1; }; done
[ -f "$OUT/ready.properties" ] || { echo "[bench] stack did not start"; exit 1; }
prop() { grep "^$1=" "$OUT/ready.properties" | cut -d= -f2-; }
DIRECT=$(prop direct); GATEWAY=$(prop gateway); UNMASKED=$(prop gateway_unmasked); KEY=$(prop demo_key); TOKEN=$(prop token)

run_wrk() { # name url auth
  BENCH_AUTH="$3" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/chat.lua "$2" > "$OUT/$1.txt"
}
echo "[bench] warming up the gateway"
BENCH_AUTH="$TOKEN" wrk -t"$THREADS" -c"$CONNECTIONS" -d10s -s bench/chat.lua "$GATEWAY/llm/v1/chat/completions" > /dev/null
echo "[bench] wrk: direct, $CONNECTIONS connections"
run_wrk direct "$DIRECT/v1/chat/completions" "$KEY"
echo "[bench] wrk: through Attest, $CONNECTIONS connections"
run_wrk gateway "$GATEWAY/llm/v1/chat/completions" "$TOKEN"
# one connection: the latency each call gains, without queueing behind other calls
CONNECTIONS=1 THREADS=1
echo "[bench] wrk: direct, 1 connection"
run_wrk direct-1 "$DIRECT/v1/chat/completions" "$KEY"
echo "[bench] wrk: through Attest, 1 connection"
run_wrk gateway-1 "$GATEWAY/llm/v1/chat/completions" "$TOKEN"

ttfb() { # url auth
  for _ in $(seq 1 "$STREAMS"); do
    curl -s -N -o /dev/null -w '%{time_starttransfer}\n' -H "Authorization: Bearer $2" \
      -H 'Content-Type: application/json' \
      -d '{"model":"demo-model","stream":true,"messages":[{"role":"user","content":"one two three four"}]}' "$1"
  done
}
echo "[bench] time to first byte of streams"
ttfb "$DIRECT/v1/chat/completions" "$KEY" > "$OUT/ttfb-direct.txt"
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
d, g = wrk("direct"), wrk("gateway")
d1, g1 = wrk("direct-1"), wrk("gateway-1")
td = [float(x) * 1000 for x in open(f"{out}/ttfb-direct.txt").read().split()]
tg = [float(x) * 1000 for x in open(f"{out}/ttfb-gateway.txt").read().split()]
tu = [float(x) * 1000 for x in open(f"{out}/ttfb-unmasked.txt").read().split()]
print()
print("| run | requests/s | p50 ms | p99 ms | non-200 | socket errors |")
print("|---|---|---|---|---|---|")
print(f"| direct (demo upstream) | {d[0]:.0f} | {d[1]:.2f} | {d[2]:.2f} | {d[3]} | {d[4]} |")
print(f"| through Attest | {g[0]:.0f} | {g[1]:.2f} | {g[2]:.2f} | {g[3]} | {g[4]} |")
print(f"| direct, 1 connection | {d1[0]:.0f} | {d1[1]:.2f} | {d1[2]:.2f} | {d1[3]} | {d1[4]} |")
print(f"| through Attest, 1 connection | {g1[0]:.0f} | {g1[1]:.2f} | {g1[2]:.2f} | {g1[3]} | {g1[4]} |")
print()
print(f"throughput ratio (Attest / direct, saturated): {g[0]/d[0]:.3f}")
print(f"added latency under saturation: p50 +{g[1]-d[1]:.2f} ms, p99 +{g[2]-d[2]:.2f} ms")
print(f"added latency per call (1 connection): p50 +{g1[1]-d1[1]:.2f} ms, p99 +{g1[2]-d1[2]:.2f} ms")
print(f"stream time to first byte (median of {len(td)}): direct {statistics.median(td):.1f} ms, "
      f"through Attest {statistics.median(tg):.1f} ms, added {statistics.median(tg)-statistics.median(td):.1f} ms")
print(f"masking's share of it: through Attest with masking off {statistics.median(tu):.1f} ms, "
      f"masking adds {statistics.median(tg)-statistics.median(tu):.1f} ms to the first byte")
PY
