#!/usr/bin/env bash
# The cost of each guarantee, in one run (issue #12): the same static nginx upstream and plain nginx reverse proxy
# as bench/run.sh, and one Attest gateway per variant in one JVM (attest.stack.BenchStack with -Dbench.variants,
# see tests/java/attest/stack/GuaranteeVariants.java), each on its own port and database:
#   all         everything on
#   identity    no token verification (neither the early check on the headers nor the route's; a fixed identity)
#   policy      no policy, risk rules or budgets (a fixed ALLOW; no usage admitted or settled)
#   masking     no masking, request or response (an empty masking rules directory)
#   evidence    no evidence record committed, neither open nor terminal (so no chain entry and no outbox row)
#   encryption  records committed and chained, their payloads not encrypted (the chain is not separable from the
#               commit without a production change: EvidenceChain is final and appended in the writer's
#               transaction)
#   relay       no Kafka outbox relay (no brokers: the events stay in the outbox)
#   tracing     attest.tracing.enabled=false
# Guarantees are switched off in test code only (AdviceWith on the started gateway's routes, existing settings).
# Every variant is warmed up (WARMUP each, one after the other: the JIT is shared, so the gateways' common code
# gets their sum), then measured saturated (CONNECTIONS) and at 1 connection, ROUNDS times interleaved (each
# round: every target saturated, then every target at 1 connection), so that drift hits all alike.
#
#   bash bench/guarantees.sh        # defaults: WARMUP=20s per variant, DURATION=5s, ROUNDS=5, 32 connections
#   DURATION=1s WARMUP=1s ROUNDS=1 CONNECTIONS=4 KAFKA=false bash bench/guarantees.sh   # the CI smoke's settings
#   VARIANTS=all,evidence bash bench/guarantees.sh                                      # some variants only
#
# Prints, per variant: requests/s (median of the rounds, and their range), p50 and p99 (medians), non-200 answers,
# and the difference from `all`: requests/s gained and ms saved per call (1000/rps: machine time per call when
# saturated, the whole call at 1 connection), marked "within noise" when the variant's range of requests/s over
# the rounds overlaps that of `all`; the nginx reverse proxy is the anchor. Raw wrk output in
# target/bench-guarantees. Short runs, many rounds: on a shared machine the load drifts within seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-20s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
VARIANTS=${VARIANTS:-all,identity,policy,masking,evidence,encryption,relay,tracing}
OUT=target/bench-guarantees
rm -rf "$OUT"; mkdir -p "$OUT"

. bench/lib.sh
bench_tools
echo "[guarantees] load before: $(uptime)"
bench_nginx
bench_stack -Dbench.variants="$VARIANTS"
KEY=$(prop demo_key)
IFS=, read -r -a NAMES <<< "$VARIANTS"
url() { if [ "$1" = nginx ]; then echo "$PROXY/v1/chat/completions"; else echo "$(prop "gateway_$1")/llm/v1/chat/completions"; fi; }
auth() { if [ "$1" = nginx ]; then echo "$KEY"; else bench_token || kill $$; fi; }

for v in "${NAMES[@]}"; do
  echo "[guarantees] warming up $v ($WARMUP, $CONNECTIONS connections)"
  wrk_to "$OUT/warmup-$v.txt" "$(url "$v")" "$(auth "$v")" "$CONNECTIONS" "$THREADS" "$WARMUP"
done
# the identity switch, seen from outside: a call with a token that is no token (after the warm-up: identity-off
# sets the identity that it verified on its first call)
BOGUS=""
for v in "${NAMES[@]}"; do
  BOGUS="$BOGUS $v $(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer not-a-token' \
    -H 'Content-Type: application/json' -d '{"model":"demo-model","messages":[{"role":"user","content":"hello"}]}' \
    "$(url "$v")")"
done
echo "[guarantees] a call with a bogus token, HTTP status per variant:$BOGUS"
for r in $(seq 1 "$ROUNDS"); do
  for mode in sat one; do
    for t in nginx "${NAMES[@]}"; do
      echo "[guarantees] round $r: $t, $([ $mode = sat ] && echo "$CONNECTIONS connections" || echo "1 connection")"
      if [ $mode = sat ]; then
        wrk_to "$OUT/$mode-$t-$r.txt" "$(url "$t")" "$(auth "$t")"
      else
        wrk_to "$OUT/$mode-$t-$r.txt" "$(url "$t")" "$(auth "$t")" 1 1
      fi
    done
  done
done
echo "[guarantees] load after: $(uptime)"
bench_cleanup # the stack reports what each gateway's database holds as it ends
grep -o '\[bench\] store of .*' "$OUT/stack.log" | sed 's/^\[bench\]/[guarantees]/' || true

python3 - "$OUT" "$ROUNDS" "nginx,$VARIANTS" "$CONNECTIONS" <<'PY'
import re, statistics, sys
out, rounds, targets, conns = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
OFF = {"all": "nothing (everything on)", "identity": "token verification", "policy": "policy, risk, budgets",
       "masking": "masking (request and response)", "evidence": "evidence (no record committed)",
       "encryption": "payload encryption", "relay": "Kafka outbox relay", "tracing": "tracing",
       "nginx": "(plain nginx reverse proxy, the anchor)"}
def wrk(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    def pct(p):
        v, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", t).groups()
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non200 = int(re.search(r"non-200: (\d+)", t).group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    return rps, pct(50), pct(99), non200, sum(int(x) for x in errs.groups()) if errs else 0
med = statistics.median
res = {}
for mode in ("sat", "one"):
    for t in targets:
        runs = [wrk(f"{out}/{mode}-{t}-{r}.txt") for r in range(1, rounds + 1)]
        res[mode, t] = dict(rps=med([x[0] for x in runs]), p50=med([x[1] for x in runs]),
                            p99=med([x[2] for x in runs]), non200=sum(x[3] for x in runs),
                            errors=sum(x[4] for x in runs), lo=min(x[0] for x in runs), hi=max(x[0] for x in runs))
for mode, title in (("sat", f"saturated, {conns} connections"), ("one", "1 connection")):
    print()
    print(f"{title} (medians of {rounds} round(s); the range of requests/s over the rounds in brackets)")
    print()
    print("| variant | switched off | requests/s | p50 ms | p99 ms | requests/s gained vs all | ms saved per call "
          "vs all | non-200 | socket errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = res.get((mode, "all"))
    for t in targets:
        r = res[mode, t]
        if base and t not in ("all", "nginx"):
            gained = f"{r['rps'] - base['rps']:+.0f} ({(r['rps'] / base['rps'] - 1) * 100:+.0f}%)".replace("-0 ", "0 ")
            saved = f"{1000 / base['rps'] - 1000 / r['rps']:+.3f}"
            if r["lo"] <= base["hi"] and base["lo"] <= r["hi"]:
                gained += " within noise"
        else:
            gained = saved = "-"
        print(f"| {t} | {OFF.get(t, t)} | {r['rps']:.0f} [{r['lo']:.0f}-{r['hi']:.0f}] | {r['p50']:.2f} | "
              f"{r['p99']:.2f} | {gained} | {saved} | {r['non200']} | {r['errors']} |")
if ("sat", "all") in res:
    print()
    print(f"anchor: Attest (all) / nginx proxy, saturated {res['sat', 'all']['rps'] / res['sat', 'nginx']['rps']:.3f}; "
          f"added p50 at 1 connection over the nginx proxy "
          f"+{res['one', 'all']['p50'] - res['one', 'nginx']['p50']:.2f} ms")
print(f"non-200 answers in all measured runs: {sum(r['non200'] for r in res.values())}")
PY
