#!/usr/bin/env bash
# Where PostgreSQL's CPU per call goes, in a saturated run through the gateway (everything on, as bench/run.sh): the
# bench stack with pg_stat_statements loaded in its embedded PostgreSQL (-Dbench.pg-statements=true), warmed up, then
# the statistics reset and DURATION of wrk at CONNECTIONS connections. Prints
#  - the CPU of PostgreSQL's processes per call, by kind (connection backends, autovacuum, WAL writer, checkpointer,
#    the rest), from /proc; exited processes (autovacuum workers) are counted through the postmaster's children time;
#  - every statement with its calls and executor time per call (pg_stat_statements, track = all: the statements run
#    inside functions are listed too, and also counted in the statement that called them);
#  - rows inserted, updated (HOT or not), deleted per call, per table, and index tuples read per index.
# Executor time is wall time: on a loaded machine it includes waiting for a core. It leaves out parse, bind, commit
# and the wire, which the backends' CPU includes.
#
#   JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 MVN_OPTS=-o bash bench/pgshare.sh
#   WARMUP=60s DURATION=20s CONNECTIONS=32 bash bench/pgshare.sh
#
# Needs nginx and wrk (Debian's packages, installed if missing), psql, curl and python3. Not run by mvn verify.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-60s}
JAVA=${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}
OUT=target/bench
mkdir -p "$OUT"

. bench/lib.sh
bench_tools
bench_nginx
bench_stack -Dbench.pg-statements=true
GATEWAY=$(prop gateway)
PORT=$(prop jdbc | sed 's/.*:\([0-9]*\)\/.*/\1/')
PSQL=(psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
POSTMASTER=$(head -1 "$(ls -d "$OUT"/pgdata-* -t | head -1)/postmaster.pid")

pgcpu() { # JSON: CPU seconds of the postmaster's children by kind, and the postmaster's own plus its reaped children
  python3 - "$POSTMASTER" <<'PY'
import json, os, sys
pm = sys.argv[1]; tck = os.sysconf('SC_CLK_TCK'); out = {}
def stat(p):
    return open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()
f = stat(pm)
out['postmaster and exited children'] = (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tck
for p in os.listdir('/proc'):
    if not p.isdigit() or p == pm:
        continue
    try:
        f = stat(p)
        if f[1] != pm:
            continue
        cmd = open(f'/proc/{p}/cmdline').read().replace('\0', ' ')
    except Exception:
        continue
    kind = ('connection backends' if '127.0.0.1(' in cmd else 'autovacuum' if 'autovacuum' in cmd
            else 'WAL writer' if 'walwriter' in cmd else 'checkpointer' if 'checkpointer' in cmd
            else 'background writer' if 'background writer' in cmd else 'other (' + cmd.split(':')[1].strip() + ')')
    out[kind] = out.get(kind, 0) + (int(f[11]) + int(f[12])) / tck
print(json.dumps(out))
PY
}

echo "[pgshare] warming up the gateway for $WARMUP"
BENCH_AUTH="$(bench_token)" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/chat.lua "$GATEWAY/llm/v1/chat/completions" > /dev/null
"${PSQL[@]}" -c "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();" > /dev/null
TOKEN=$(bench_token)
cpu0=$(pgcpu)
echo "[pgshare] saturated run, $CONNECTIONS connections, $DURATION"
wrk_to "$OUT/pgshare-wrk.txt" "$GATEWAY/llm/v1/chat/completions" "$TOKEN"
cpu1=$(pgcpu)
sleep 1 # the statistics collector's last report
CALLS=$(awk '/requests in/ {print $1}' "$OUT/pgshare-wrk.txt")
RPS=$(awk '/Requests\/sec/ {print $2}' "$OUT/pgshare-wrk.txt")
echo "[pgshare] $CALLS calls, $RPS requests/s; load: $(uptime | sed 's/.*load average/load average/')"
python3 - "$cpu0" "$cpu1" "$CALLS" <<'PY'
import json, sys
a, b, n = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
print("\n| PostgreSQL process | CPU ms per call |\n|---|---|")
total = 0
for k in sorted(b, key=lambda k: -(b[k] - a.get(k, 0))):
    d = b[k] - a.get(k, 0); total += d
    print(f"| {k} | {d / n * 1000:.3f} |")
print(f"| **all** | **{total / n * 1000:.3f}** |")
PY
echo
"${PSQL[@]}" -v calls="$CALLS" <<'SQL'
\pset footer off
\echo '| statement (pg_stat_statements) | calls per call | rows per call | exec ms per call | mean ms |'
\echo '|---|---|---|---|---|'
SELECT '| `' || left(regexp_replace(query, '\s+', ' ', 'g'), 110) || '` | ' || round(calls::numeric / :calls, 3)
       || ' | ' || round(rows::numeric / :calls, 3) || ' | ' || round((total_exec_time / :calls)::numeric, 4)
       || ' | ' || round(mean_exec_time::numeric, 4) || ' |'
FROM pg_stat_statements WHERE calls > 0 AND query NOT LIKE '%pg_stat_statements%'
ORDER BY total_exec_time DESC LIMIT 30 \g (format=unaligned tuples_only)
\echo
\echo '| function | calls per call | self ms per call |'
\echo '|---|---|---|'
SELECT '| ' || funcname || ' | ' || round(calls::numeric / :calls, 3) || ' | '
       || round((self_time / :calls)::numeric, 4) || ' |'
FROM pg_stat_user_functions ORDER BY self_time DESC \g (format=unaligned tuples_only)
\echo
\echo '| table | inserts per call | updates per call | of which HOT | deletes per call | dead rows now |'
\echo '|---|---|---|---|---|---|'
SELECT '| ' || relname || ' | ' || round(n_tup_ins::numeric / :calls, 3) || ' | ' || round(n_tup_upd::numeric / :calls, 3)
       || ' | ' || round(n_tup_hot_upd::numeric / :calls, 3) || ' | ' || round(n_tup_del::numeric / :calls, 3)
       || ' | ' || n_dead_tup || ' |'
FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY n_tup_ins + n_tup_upd DESC
\g (format=unaligned tuples_only)
\echo
\echo '| index | scans per call | tuples read per call |'
\echo '|---|---|---|'
SELECT '| ' || indexrelname || ' | ' || round(idx_scan::numeric / :calls, 3) || ' | '
       || round(idx_tup_read::numeric / :calls, 3) || ' |'
FROM pg_stat_user_indexes WHERE idx_scan > 0 ORDER BY idx_tup_read DESC \g (format=unaligned tuples_only)
\echo
\echo '| index on a written table | size |'
\echo '|---|---|'
SELECT '| ' || i.indexrelname || ' | ' || pg_size_pretty(pg_relation_size(i.indexrelid)) || ' |'
FROM pg_stat_user_indexes i JOIN pg_stat_user_tables t USING (relid)
WHERE t.n_tup_ins > 0 ORDER BY t.relname, i.indexrelname \g (format=unaligned tuples_only)
SQL
