-- wrk script of bench/run.sh: replay a list of requests round-robin.
--
--   wrk ... -s bench/lua/replay.lua URL -- LISTFILE [PATH]
--
-- Each line of LISTFILE is TAB-separated: a path (the word PATH stands for
-- the PATH argument), then any number of "Name: value" headers, and
-- optionally a field "BODY=..." which makes the request a POST with that
-- (already url-encoded) form body.  Requests are formatted once in init(),
-- so request() costs wrk next to nothing.
--
-- done() prints one machine-readable line for run.sh:
--   BENCH requests=N duration_us=N bytes=N p50_us=N p99_us=N max_us=N
--         status_err=N sock_err=N sock_detail=connect/read/write/timeout
local reqs = {}
local n = 0
local i = 0

local function split(s, sep)
    local out = {}
    for field in string.gmatch(s, "([^" .. sep .. "]+)") do
        out[#out + 1] = field
    end
    return out
end

function init(args)
    local file, path = args[1], args[2] or "/"
    if not file then
        error("replay.lua: no list file (wrk ... -- LISTFILE [PATH])")
    end
    local fh = assert(io.open(file, "r"))
    for line in fh:lines() do
        if #line > 0 then
            local f = split(line, "\t")
            local p = f[1] == "PATH" and path or f[1]
            local headers, body, method = {}, nil, "GET"
            for k = 2, #f do
                local v = f[k]
                if string.sub(v, 1, 5) == "BODY=" then
                    body = string.sub(v, 6)
                    method = "POST"
                    headers["Content-Type"] =
                        "application/x-www-form-urlencoded"
                else
                    local name, value = string.match(v, "^([^:]+):%s*(.*)$")
                    if name then
                        headers[name] = value
                    end
                end
            end
            n = n + 1
            reqs[n] = wrk.format(method, p, headers, body)
        end
    end
    fh:close()
    if n == 0 then
        error("replay.lua: " .. file .. " holds no request")
    end
    -- threads start at different offsets
    i = math.random(0, n - 1)
end

function request()
    i = i % n + 1
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
        "max_us=%d status_err=%d sock_err=%d sock_detail=%d/%d/%d/%d\n",
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(99), latency.max,
        e.status, e.connect + e.read + e.write + e.timeout,
        e.connect, e.read, e.write, e.timeout))
end
