-- wrk script: every request sends a DISTINCT, precomputed, signed Jira body.
--
-- A constant body would be stored once and then answered as a duplicate, which measures the
-- dedupe path, not intake. Bench writes one file per wrk thread (PREFIX.0, PREFIX.1, ...), one
-- delivery a line: "<delivery id>\t<X-Hub-Signature>\t<compact JSON body>". Each thread reads its
-- own file sequentially, after skipping the lines earlier runs against the same server used, so
-- no body repeats unless a file runs out (counted as "wraps").
-- Usage: wrk -s signed_bodies.lua URL -- PREFIX SKIP0,SKIP1,...
--
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles (us).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(args[1] .. "." .. tid, "rb"))
  local skips = {}
  for n in string.gmatch(args[2] or "", "%d+") do
    table.insert(skips, tonumber(n))
  end
  for _ = 1, (skips[tid + 1] or 0) do
    file:read("*l")
  end
  sent, wraps, s202, s200, s401, other = 0, 0, 0, 0, 0, 0
end

function request()
  local line = file:read("*l")
  if line == nil then
    wraps = wraps + 1
    file:seek("set", 0)
    line = file:read("*l")
  end
  local id, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  sent = sent + 1
  return wrk.format("POST", "/webhooks/jira", {
    ["Content-Type"] = "application/json; charset=UTF-8",
    ["X-Hub-Signature"] = signature,
    ["X-Atlassian-Webhook-Identifier"] = id,
  }, body)
end

function response(status, headers, body)
  if status == 202 then
    s202 = s202 + 1
  elseif status == 200 then
    s200 = s200 + 1
  elseif status == 401 then
    s401 = s401 + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { wraps = 0, s202 = 0, s200 = 0, s401 = 0, other = 0 }
  local sent_by_thread = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
    table.insert(sent_by_thread, thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"sent_by_thread":[%s],"wraps":%d,"s202":%d,"s200":%d,"s401":%d,"other":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, table.concat(sent_by_thread, ","), totals.wraps, totals.s202,
    totals.s200, totals.s401, totals.other))
end
