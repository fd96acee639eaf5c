-- wrk script: POST a small chat completion with the Authorization header from the environment.
-- BENCH_PROMPT_BYTES=8192: a prompt of that many bytes instead of "hello" (prose, no regulated data).
wrk.method = "POST"
wrk.body = '{"model":"demo-model","messages":[{"role":"user","content":"hello"}]}'
local prompt_bytes = tonumber(os.getenv("BENCH_PROMPT_BYTES") or "")
if prompt_bytes and prompt_bytes > 0 then
  local words = "The quarterly report covers revenue, churn and the roadmap. "
  local text = string.rep(words, math.floor(prompt_bytes / #words) + 1):sub(1, prompt_bytes)
  wrk.body = '{"model":"demo-model","messages":[{"role":"user","content":"' .. text .. '"}]}'
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_AUTH")

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200: %d\n", summary.errors.status))
end
