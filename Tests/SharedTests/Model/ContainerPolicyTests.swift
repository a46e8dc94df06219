import Foundation
import Testing
@testable import Model

/// `secretEnv`, `privileged` and `mounts` in a job, and the operator's `JobPolicy` over them.
@Suite struct ContainerPolicyTests {
    static func job(_ container: String) -> String {
        #"{"name":"p","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.5,"memoryMB":64}"#
            + container + #"},"batch":{"size":1}}"#
    }

    static func decode(_ container: String) throws -> JobSpec {
        let spec = try JobSpec(json: JSONParser.parse(job(container)))
        try spec.validate()
        return spec
    }

    static func fieldError(_ container: String) -> FieldError? {
        do { _ = try decode(container); return nil } catch let e as FieldError { return e } catch { return nil }
    }

    @Test func decodesRoundTripsAndRedacts() throws {
        let spec = try Self.decode(#","secretEnv":{"DB_PASSWORD":"hunter2-secret"},"privileged":true,"#
            + #""mounts":[{"hostPath":"/srv/data","containerPath":"/data"},{"hostPath":"/srv/out","containerPath":"/out","readOnly":false}]"#)
        #expect(spec.container.secretEnv == ["DB_PASSWORD": "hunter2-secret"])
        #expect(spec.container.privileged)
        #expect(spec.container.mounts == [Mount(hostPath: "/srv/data", containerPath: "/data", readOnly: true),
                                          Mount(hostPath: "/srv/out", containerPath: "/out", readOnly: false)])
        var full = JSONWriter()
        spec.write(to: &full)
        #expect(try JobSpec(json: JSONParser.parse(full.bytes)) == spec, "the store keeps everything")
        var shown = JSONWriter()
        spec.write(to: &shown, redactingSecrets: true)
        let text = String(decoding: shown.bytes, as: UTF8.self)
        #expect(!text.contains("hunter2-secret") && text.contains(#""DB_PASSWORD":"<redacted>""#), "\(text)")
    }

    @Test func anOrdinaryJobWritesNoNewFields() throws {
        var w = JSONWriter()
        try Self.decode("").write(to: &w)
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(!text.contains("secretEnv") && !text.contains("privileged") && !text.contains("mounts"))
    }

    @Test(arguments: [
        (#","mounts":[{"hostPath":"srv","containerPath":"/data"}]"#, "container.mounts[0].hostPath"),
        (#","mounts":[{"hostPath":"/srv/../etc","containerPath":"/data"}]"#, "container.mounts[0].hostPath"),
        (#","mounts":[{"hostPath":"/srv","containerPath":"/data:rw"}]"#, "container.mounts[0].containerPath"),
        (#","mounts":[{"hostPath":"/srv","containerPath":"/"}]"#, "container.mounts[0].containerPath"),
        (#","mounts":[{"hostPath":"/srv"}]"#, "container.mounts[0].containerPath"),
        (#","mounts":[{"hostPath":"/srv","containerPath":"/d","mode":"rw"}]"#, "container.mounts[0].mode"),
        (#","mounts":{"hostPath":"/srv"}"#, "container.mounts"),
        (#","privileged":"yes""#, "container.privileged"),
        (#","env":{"A":"1"},"secretEnv":{"A":"2"}"#, "container.secretEnv.A"),
        (#","secretEnv":{"FULLER_X":"2"}"#, "container.secretEnv.FULLER_X"),
        (#","secretEnv":{"1A":"2"}"#, "container.secretEnv.1A"),
    ])
    func badFieldsAreNamed(container: String, field: String) {
        #expect(Self.fieldError(container)?.field == field)
    }

    @Test func theDefaultPolicyRefusesPrivilegedAndMounts() throws {
        let policy = JobPolicy()
        #expect(policy.refusal(try Self.decode("").container) == nil)
        #expect(policy.refusal(try Self.decode(#","privileged":true"#).container)?.field == "container.privileged")
        #expect(policy.refusal(try Self.decode(#","mounts":[{"hostPath":"/srv","containerPath":"/d"}]"#).container)?.field
                == "container.mounts[0].hostPath")
    }

    @Test func allowedPrivilegedAndMountsPass() throws {
        let policy = JobPolicy(allowPrivileged: true, allowHostMounts: true)
        let spec = try Self.decode(#","privileged":true,"mounts":[{"hostPath":"/srv","containerPath":"/d"},{"hostPath":"/var/lib/app","containerPath":"/e"}]"#)
        #expect(policy.refusal(spec.container) == nil)
    }

    @Test(arguments: ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/var", "/", "/var//run/", "/run/./",
                      "/home/me/docker.sock", "/var/run/docker.sock/", "/proc", "/proc/1/root", "/proc/1/root/run",
                      "/run/containerd", "/run/containerd/containerd.sock", "/var/run/containerd/"])
    func theDockerSocketIsRefusedEvenWithHostMounts(hostPath: String) throws {
        let spec = try Self.decode(#","mounts":[{"hostPath":"/srv","containerPath":"/a"},{"hostPath":"\#(hostPath)","containerPath":"/b"}]"#)
        let refusal = JobPolicy(allowPrivileged: true, allowHostMounts: true).refusal(spec.container)
        #expect(refusal?.field == "container.mounts[1].hostPath")
        #expect(refusal?.message.contains("--allow-docker-socket") == true)
        #expect(JobPolicy(allowHostMounts: true, allowDockerSocket: true).refusal(spec.container) == nil)
    }

    @Test(arguments: ["/var/lib", "/runner", "/var/run2", "/srv/docker.socket", "/processes", "/run/containerd2"])
    func pathsNearTheSocketButNotHoldingItPass(hostPath: String) {
        #expect(!JobPolicy.exposesDockerSocket(hostPath))
    }
}
