-- wrk script: the exact GET that @trpc/client's httpBatchLink (and @tabrpc/client's) sends for
-- BENCH_BATCH calls of profile.getUser in one macrotask:
--   /trpc/profile.getUser,profile.getUser,…?batch=1&input=<encodeURIComponent(JSON)>
-- with inputs {"0":{"viewerId":…},"1":…} and the tab's bearer token. Each request takes the
-- next line of BENCH_TOKENS (`sub<TAB>token`): many tabs of many users, each its own token.
-- BENCH_PROTOCOL=rspc sends rspc's one-call query instead (BENCH_BATCH must be 1):
--   /rspc/profile.getUser?input=<encodeURIComponent({"viewerId":…})>

local batch = tonumber(os.getenv("BENCH_BATCH") or "1")
local protocol = os.getenv("BENCH_PROTOCOL") or "trpc"
local tokens_file = os.getenv("BENCH_TOKENS")
local requests = {}
local next_index = 0

-- encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is escaped.
local function encode_uri_component(text)
  return (text:gsub("[^%w%-_%.!~%*'%(%)]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  local paths, inputs = {}, {}
  for line in io.lines(tokens_file) do
    local sub, token = line:match("^([^\t]+)\t(.+)$")
    if sub then
      for i = 0, batch - 1 do
        paths[i + 1] = "profile.getUser"
        inputs[i + 1] = string.format('"%d":{"viewerId":"%s"}', i, sub)
      end
      local path = "/trpc/" .. table.concat(paths, ",") .. "?batch=1&input="
        .. encode_uri_component("{" .. table.concat(inputs, ",") .. "}")
      if protocol == "rspc" then
        path = "/rspc/profile.getUser?input="
          .. encode_uri_component(string.format('{"viewerId":"%s"}', sub))
      end
      requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
    end
  end
  -- Threads start at different tokens.
  next_index = math.random(#requests) - 1
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
