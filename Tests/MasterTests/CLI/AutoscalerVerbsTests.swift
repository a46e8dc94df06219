import Testing
@testable import Master
import Shared

@Suite struct AutoscalerVerbsTests {
    static let status = #"""
    {"enabled":true,"intervalMilliseconds":5000,"provider":{"command":["fuller-master","local-provider"],"timeoutSeconds":120,"retries":2},
     "evaluatedAt":"2026-11-25T16:29:58.000Z",
     "groups":[{"name":"web","rules":{"minSize":1,"maxSize":8,"minIdle":0,"maxIdle":1,"cooldownSeconds":60,"scaleUpTimeoutSeconds":600,
                "scaleDownStepMax":10,"shape":{"cpu":2,"memoryMB":4096,"diskMB":0,"networkMbps":0,"zones":["a","b"],"attributes":{}}},
                "size":3,"idle":0,"busy":3,"draining":0,"other":0,"expected":2,"zones":{"a":2,"b":1},"shortfallTasks":7,
                "unsatisfiedTasks":0,"cooldownUntil":"2026-11-25T16:30:45.000Z","providerBusy":false,
                "decision":"scaleUp 2: 7 pending task(s) fit no agent; they need 2 new agent(s) of 2.0 cpu / 4096 MB"}],
     "unmatchedTasks":1,
     "actions":[{"id":4,"at":"2026-11-25T16:29:45.000Z","group":"web","kind":"scaleUp","count":2,"agents":["i-1","i-2"],"desiredSize":5,
                 "reason":"7 pending task(s) fit no agent","result":"succeeded","attempts":1},
                {"id":5,"at":"2026-11-25T16:29:50.000Z","group":"web","kind":"scaleDown","count":1,"agents":["i-0"],"desiredSize":4,
                 "reason":"drained and still idle","result":"failed","message":"AccessDenied","attempts":3}]}
    """#

    @Test func showsGroupsDecisionsAndActions() {
        let h = CLIHarness()
        h.master.on("GET /v1/autoscaler", .json(200, Self.status))
        #expect(h.run("autoscaler") == 0)
        #expect(h.output == """
        provider fuller-master local-provider   evaluated 2s ago   unmatched tasks 1

        GROUP   SIZE   MIN-MAX   IDLE   KEEP IDLE   BUSY   DRAINING   EXPECTED   SHORTFALL   ZONES      COOLDOWN
        web     3      1-8       0      0-1         3      0          2          7           a=2, b=1   45s

        web: agents of 2 cpu / 4096 MB in a, b; cooldown 60s; scale-down step 10
          scaleUp 2: 7 pending task(s) fit no agent; they need 2 new agent(s) of 2.0 cpu / 4096 MB

        ID   AGE   GROUP   ACTION        AGENTS    RESULT                  REASON
        4    15s   web     scaleUp 2     i-1 i-2   succeeded               7 pending task(s) fit no agent
        5    10s   web     scaleDown 1   i-0       failed (AccessDenied)   drained and still idle

        """)
    }

    @Test func jsonPrintsTheServersBodyAndOffSaysHowToTurnItOn() {
        let h = CLIHarness()
        h.master.on("GET /v1/autoscaler", .json(200, #"{"enabled":false,"groups":[],"unmatchedTasks":0,"actions":[]}"#))
        #expect(h.run("autoscaler --json") == 0)
        #expect(h.output == #"{"enabled":false,"groups":[],"unmatchedTasks":0,"actions":[]}"# + "\n")
        let off = CLIHarness()
        off.master.on("GET /v1/autoscaler", .json(200, #"{"enabled":false,"groups":[],"unmatchedTasks":0,"actions":[]}"#))
        #expect(off.run("autoscaler") == 0)
        #expect(off.output.hasPrefix("autoscaling is off"))
    }
}
