#!/usr/bin/env bash
# Masking throughput (JMH): a mixed payload of 10 KB, 100 KB and 1 MB masked with every built-in detector,
# on one thread (MaskingBenchmark), and the CPU per event of a streamed chat completion masked as a relay
# masks it, three shapes of chunk (StreamMaskingBenchmark). Prints p50/p90/p99 per size and microseconds per
# event; the full report goes to target/jmh-masking.txt.
#
#   bash bench/masking.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests test-compile
mvn -q -B exec:exec -Dexec.executable=java -Dexec.classpathScope=test \
  -Dexec.args="-cp %classpath org.openjdk.jmh.Main MaskingBenchmark -f 1 -wi 3 -w 2s -i 5 -r 3s -rf text -rff target/jmh-masking.txt"
echo
grep -E "Benchmark|mask:p0.50|mask:p0.90|mask:p0.99|mask  |stream  " target/jmh-masking.txt || cat target/jmh-masking.txt
