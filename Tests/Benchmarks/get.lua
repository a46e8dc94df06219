-- wrk script: reads of one job; the path comes from the JOB_PATH environment variable.
wrk.path = os.getenv("JOB_PATH")

done = function(summary, latency, requests)
   io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
