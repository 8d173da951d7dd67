-- wrk script of the soak: valid traffic from many accounts.
--
-- Each request takes the next token of $SOAK_TOKENS (lines "<user id> <token>", rewritten by
-- soak.py as it refreshes the 60 s tokens; every thread re-reads it once a second) and one of
-- the demo's calls: single queries, a batch with viewerId, a JSONL batch, a mutation.
-- done() prints one line "SOAK {json}" with the counts by status class and the latencies.

local tokens_file = os.getenv("SOAK_TOKENS")
local tokens = {}
local loaded_at = -1
local n = 0
c2, c3, c4, c5, cother = 0, 0, 0, 0, 0

local function load()
  local f = io.open(tokens_file, "r")
  if f then
    local fresh = {}
    for line in f:lines() do
      local user, token = line:match("^(%S+) (%S+)$")
      if user then fresh[#fresh + 1] = { user = user, token = token } end
    end
    f:close()
    if #fresh > 0 then tokens = fresh end
  end
  loaded_at = os.time()
end

local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local steps = { "welcome", "profile", "preferences", "done" }

function request()
  if os.time() ~= loaded_at then load() end
  n = n + 1
  local t = tokens[(n % #tokens) + 1]
  local headers = { ["authorization"] = "Bearer " .. t.token }
  local kind = n % 10
  if kind < 4 then
    return wrk.format("GET", "/trpc/profile.getUser", headers)
  elseif kind < 6 then
    local input = enc('{"viewerId":"' .. t.user .. '"}')
    return wrk.format("GET", "/trpc/onboarding.getProgress?input=" .. input, headers)
  elseif kind < 8 then
    local input = enc('{"0":{"viewerId":"' .. t.user .. '"},"1":{}}')
    return wrk.format("GET", "/trpc/profile.getUser,onboarding.getProgress?batch=1&input=" .. input, headers)
  elseif kind < 9 then
    headers["trpc-accept"] = "application/jsonl"
    return wrk.format("GET", "/trpc/profile.getUser,onboarding.getProgress?batch=1", headers)
  else
    headers["content-type"] = "application/json"
    local body = '{"step":"' .. steps[(n % #steps) + 1] .. '"}'
    return wrk.format("POST", "/trpc/onboarding.saveStep", headers, body)
  end
end

function response(status, headers, body)
  if status >= 200 and status < 300 then c2 = c2 + 1
  elseif status < 400 then c3 = c3 + 1
  elseif status < 500 then c4 = c4 + 1
  elseif status < 600 then c5 = c5 + 1
  else cother = cother + 1 end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local s = { c2 = 0, c3 = 0, c4 = 0, c5 = 0, cother = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + (thread:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests":%d,"c2xx":%d,"c3xx":%d,"c4xx":%d,"c5xx":%d,"other":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"duration_us":%d}\n',
    summary.requests, s.c2, s.c3, s.c4, s.c5, s.cother,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, summary.duration))
end
