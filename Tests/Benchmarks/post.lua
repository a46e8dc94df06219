-- wrk script: durable job creates. Each request is a distinct small batch job.
wrk.method = "POST"
wrk.path = "/v1/jobs"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","owner":"bench@example.com","type":"batch","container":{"image":"fuller/bench:1","command":["true"],"resources":{"cpu":0.1,"memoryMB":16}},"batch":{"size":1}}'

done = function(summary, latency, requests)
   io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
