import Dispatch
import Synchronization
import Testing
@testable import Shared

@Suite struct MetricsExpositionTests {
    @Test func countersAndGaugesRenderExactly() throws {
        let registry = MetricsRegistry()
        let requests = registry.counter("fuller_http_requests_total", help: "HTTP requests.",
                                        labels: ["method", "route", "status"])
        requests.labels("GET", "/v1/jobs/{id}", "200").increment()
        requests.labels("GET", "/v1/jobs/{id}", "200").increment(by: 2)
        requests.labels("DELETE", "/v1/jobs/{id}", "404").increment()
        registry.counter("fuller_bytes_total", help: "Bytes.\nWith \\ and \"quotes\".").add(1.5)
        let odd = registry.gauge("fuller_odd", help: "", labels: ["path"])
        odd.labels("a\\b\"c\nd").set(.nan)
        odd.labels("inf").set(.infinity)
        odd.labels("neg").set(-.infinity)
        registry.gauge("fuller_queue_depth", help: "Queue depth.").set(-3)

        let expected = """
            # HELP fuller_bytes_total Bytes.\\nWith \\\\ and "quotes".
            # TYPE fuller_bytes_total counter
            fuller_bytes_total 1.5
            # HELP fuller_http_requests_total HTTP requests.
            # TYPE fuller_http_requests_total counter
            fuller_http_requests_total{method="DELETE",route="/v1/jobs/{id}",status="404"} 1
            fuller_http_requests_total{method="GET",route="/v1/jobs/{id}",status="200"} 3
            # TYPE fuller_odd gauge
            fuller_odd{path="a\\\\b\\"c\\nd"} NaN
            fuller_odd{path="inf"} +Inf
            fuller_odd{path="neg"} -Inf
            # HELP fuller_queue_depth Queue depth.
            # TYPE fuller_queue_depth gauge
            fuller_queue_depth -3

            """
        let text = registry.exposition()
        #expect(text == expected)
        let parsed = try PrometheusChecker(text)
        #expect(parsed.help["fuller_bytes_total"] == "Bytes.\nWith \\ and \"quotes\".")
        #expect(parsed.value("fuller_odd", ["path": "a\\b\"c\nd"])?.isNaN == true)
        #expect(parsed.value("fuller_http_requests_total", ["method": "GET", "route": "/v1/jobs/{id}", "status": "200"]) == 3)
    }

    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() throws {
        let registry = MetricsRegistry()
        let apply = registry.histogram("fuller_apply_seconds", help: "Apply latency.", labels: ["kind"],
                                       buckets: [0.25, 1, 10])
        for value in [0.125, 0.25, 0.5, 20] { apply.labels("submit").observe(value) }
        _ = registry.histogram("fuller_empty_seconds", help: "Never observed.", buckets: [1])
        let expected = """
            # HELP fuller_apply_seconds Apply latency.
            # TYPE fuller_apply_seconds histogram
            fuller_apply_seconds_bucket{kind="submit",le="0.25"} 2
            fuller_apply_seconds_bucket{kind="submit",le="1"} 3
            fuller_apply_seconds_bucket{kind="submit",le="10"} 3
            fuller_apply_seconds_bucket{kind="submit",le="+Inf"} 4
            fuller_apply_seconds_sum{kind="submit"} 20.875
            fuller_apply_seconds_count{kind="submit"} 4
            # HELP fuller_empty_seconds Never observed.
            # TYPE fuller_empty_seconds histogram
            fuller_empty_seconds_bucket{le="1"} 0
            fuller_empty_seconds_bucket{le="+Inf"} 0
            fuller_empty_seconds_sum 0
            fuller_empty_seconds_count 0

            """
        #expect(registry.exposition() == expected)
        _ = try PrometheusChecker(registry.exposition())
    }

    @Test func defaultLatencyBucketsParseBack() throws {
        let registry = MetricsRegistry()
        let latency = registry.histogram("fuller_request_seconds", help: "Latency.")
        latency.observe(Duration.microseconds(150))
        latency.observe(Duration.seconds(3))
        let parsed = try PrometheusChecker(registry.exposition())
        #expect(parsed.value("fuller_request_seconds_bucket", ["le": "0.0001"]) == 0)
        #expect(parsed.value("fuller_request_seconds_bucket", ["le": "0.00025"]) == 1)
        #expect(parsed.value("fuller_request_seconds_bucket", ["le": "5"]) == 2)
        #expect(parsed.value("fuller_request_seconds_count") == 2)
        #expect(Histogram.defaultLatencyBuckets.first == 0.0001 && Histogram.defaultLatencyBuckets.last == 10)
    }

    @Test func gaugeFunctionIsComputedAtScrapeTime() throws {
        let registry = MetricsRegistry()
        let jobs = registry.counter("fuller_jobs_submitted_total", help: "Jobs submitted.")
        registry.gaugeFunction("fuller_jobs", help: "Jobs by state.", labels: ["state"]) {
            [(["KillInitiated"], 1), (["Accepted"], jobs.value)]
        }
        jobs.increment(by: 5)
        let expected = """
            # HELP fuller_jobs Jobs by state.
            # TYPE fuller_jobs gauge
            fuller_jobs{state="Accepted"} 5
            fuller_jobs{state="KillInitiated"} 1
            # HELP fuller_jobs_submitted_total Jobs submitted.
            # TYPE fuller_jobs_submitted_total counter
            fuller_jobs_submitted_total 5

            """
        #expect(registry.exposition() == expected)
    }

    @Test func registeringTheSameShapeTwiceReturnsTheSameMetric() {
        let registry = MetricsRegistry()
        #expect(registry.counter("a_total", help: "") === registry.counter("a_total", help: ""))
        let family = registry.gauge("b", help: "", labels: ["x"])
        #expect(family === registry.gauge("b", help: "", labels: ["x"]))
        #expect(family.labels("1") === family.labels(["1"]))
        family.remove("1")
        #expect(registry.exposition() == "# TYPE a_total counter\na_total 0\n# TYPE b gauge\n")
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (42, "42"), (-7, "-7"), (0.5, "0.5"), (0.0001, "0.0001"), (1e-05, "1e-05"),
        (2.5e20, "2.5e+20"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
    ])
    func formatsValues(value: Double, text: String) {
        #expect(PrometheusText.formatValue(value) == text)
        let back = PrometheusChecker.parseValue(text)!
        #expect(back == value || (back.isNaN && value.isNaN))
    }

    @Test(arguments: [("fuller_x", true), ("a:b_c9", true), (":x", true), ("9x", false), ("", false),
                      ("a-b", false), ("a b", false), ("é", false)])
    func validatesMetricNames(name: String, valid: Bool) {
        #expect(PrometheusText.isValidMetricName(name) == valid)
    }

    @Test(arguments: [("route", true), ("_x9", true), ("__name", false), ("a:b", false), ("9", false), ("", false)])
    func validatesLabelNames(name: String, valid: Bool) {
        #expect(PrometheusText.isValidLabelName(name) == valid)
    }

    @Test func invalidNamesStopTheProcess() async {
        await #expect(processExitsWith: .failure) { _ = MetricsRegistry().counter("bad-name", help: "") }
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.counter("x", help: "")
            _ = registry.gauge("x", help: "")
        }
    }
}

@Suite struct MetricsConcurrencyTests {
    @Test func incrementsFromEightThreadsSumExactly() throws {
        let registry = MetricsRegistry()
        let family = registry.counter("fuller_ops_total", help: "Ops.", labels: ["worker"])
        let shared = registry.counter("fuller_shared_total", help: "Shared.")
        let gauge = registry.gauge("fuller_level", help: "Level.")
        let latency = registry.histogram("fuller_op_seconds", help: "Latency.")
        let perThread = 50_000
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            let mine = family.labels(String(thread % 2))  // two threads share each child
            for i in 0..<perThread {
                shared.increment()
                mine.increment()
                gauge.increment(by: 1)
                if i % 10 == 0 { latency.observe(0.001) }
            }
        }
        #expect(shared.value == Double(8 * perThread))
        #expect(family.labels("0").value + family.labels("1").value == Double(8 * perThread))
        #expect(gauge.value == Double(8 * perThread))
        #expect(latency.snapshot().count == UInt64(8 * perThread / 10))
        let parsed = try PrometheusChecker(registry.exposition())
        #expect(parsed.value("fuller_ops_total", ["worker": "0"]) == Double(4 * perThread))
    }

    @Test func scrapingWhileUpdatingAlwaysParses() throws {
        let registry = MetricsRegistry()
        let family = registry.histogram("fuller_busy_seconds", help: "Busy.", labels: ["n"])
        let texts = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<2_000 {
                if thread == 0, i % 200 == 0 {
                    let text = registry.exposition()
                    texts.withLock { $0.append(text) }
                } else {
                    family.labels(String(i % 7)).observe(Double(i) / 1000)
                }
            }
        }
        for text in texts.withLock({ $0 }) { _ = try PrometheusChecker(text) }
    }
}
