-- wrk script: POST the file named by BODY with the Content-Type CT. The
-- summary line counts non-2xx answers (errors.status) so the run can fail
-- loudly instead of timing refusals.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CT")

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non200=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
