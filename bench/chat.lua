-- wrk script: POST a small chat completion with the Authorization header from the environment.
wrk.method = "POST"
wrk.body = '{"model":"demo-model","messages":[{"role":"user","content":"hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_AUTH")

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200: %d\n", summary.errors.status))
end
