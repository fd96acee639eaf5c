-- wrk script: POST a streamed chat completion (the static upstream answers it with a one-event server-sent stream
-- when X-Bench-Stream: 1 is set), with the Authorization header from the environment.
wrk.method = "POST"
wrk.body = '{"model":"demo-model","stream":true,"messages":[{"role":"user","content":"one two three four"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Bench-Stream"] = "1"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_AUTH")

done = function(summary, latency, requests)
  io.write(string.format("non-200: %d\n", summary.errors.status))
end
