#!/usr/bin/env bash
# Flood bench: an authenticated call's p50 idle and during a flood of token-less 1 MiB requests at the machine's
# capacity (2 x cores threads, loopback only, 20 s and 50,000 requests at most), side by side in one run against
# one gateway with its default settings; and the evidence store's growth per 1,000 refused requests.
# Results in target/bench-flood/flood.txt and docs/benchmarks.md. Not for CI: it measures, it does not assert.
#
#   bash bench/flood.sh
#   FLOOD_SECONDS=10 FLOOD_THREADS=2 bash bench/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -o -DskipTests test-compile
mvn -q -B -o exec:java -Dexec.mainClass=attest.bench.FloodBench -Dexec.classpathScope=test \
  -Dexec.cleanupDaemonThreads=false -Dflood.seconds="${FLOOD_SECONDS:-20}" \
  -Dflood.threads="${FLOOD_THREADS:-$(( 2 * $(nproc) ))}" -Dflood.calls="${FLOOD_CALLS:-300}"
