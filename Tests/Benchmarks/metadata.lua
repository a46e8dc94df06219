-- wrk script: GETs of one metadata path (METADATA_PATH), with an IMDSv2 token when
-- METADATA_TOKEN is set.
wrk.path = os.getenv("METADATA_PATH")
local token = os.getenv("METADATA_TOKEN")
if token and token ~= "" then
   wrk.headers["X-aws-ec2-metadata-token"] = token
end

done = function(summary, latency, requests)
   io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
