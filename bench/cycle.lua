-- Sends pre-signed requests, each once: a signature seen twice would be refused as a replay.
-- Lines of the file are "timestamp<TAB>signature<TAB>body"; thread k of n takes every n-th line.
-- Usage: wrk -s bench/cycle.lua URL -- FILE THREADS

local threads_started = 0

function setup(thread)
   thread:set("thread_index", threads_started)
   threads_started = threads_started + 1
end

function init(args)
   local path, count = args[1], tonumber(args[2])
   requests = {}
   local line_no = 0
   for line in io.lines(path) do
      if line_no % count == thread_index then
         local timestamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
         requests[#requests + 1] = wrk.format("POST", wrk.path, {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["X-Slack-Request-Timestamp"] = timestamp,
            ["X-Slack-Signature"] = signature,
         }, body)
      end
      line_no = line_no + 1
   end
   next_request = 0
end

function request()
   next_request = next_request + 1
   if next_request > #requests then
      -- Out of fresh signatures: stop rather than send replays the bot would refuse.
      wrk.thread:stop()
      return requests[#requests]
   end
   return requests[next_request]
end

function done(summary, latency, requests)
   io.write(string.format(
      'WRK_RESULT {"duration_us": %d, "requests": %d, "status_errors": %d, "socket_errors": %d, ' ..
      '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.duration, summary.requests, summary.errors.status,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
