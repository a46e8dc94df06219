/// A `FaultProxy` for every directed link of a group: the link "a→b" carries what a sends to
/// b (its requests to b's peer port and b's answers on those connections).
public final class FaultNetwork: Sendable {
    private let links: [Link: FaultProxy]
    public let names: [String]

    private struct Link: Hashable {
        var from: String
        var to: String
    }

    /// `peerPorts`: each member's real peer port by name.
    public init(peerPorts: [String: Int]) throws {
        names = peerPorts.keys.sorted()
        var links: [Link: FaultProxy] = [:]
        do {
            for from in names {
                for to in names where to != from {
                    links[Link(from: from, to: to)] = try FaultProxy(upstreamPort: peerPorts[to]!)
                }
            }
        } catch {
            for proxy in links.values { proxy.stop() }
            throw error
        }
        self.links = links
    }

    /// The port `from` dials to reach `to`.
    public func port(from: String, to: String) -> Int { proxy(from, to).port }

    public func set(from: String, to: String, _ mode: FaultProxy.Mode) { proxy(from, to).set(mode) }

    /// Cuts `name` off from every other member, both ways.
    public func isolate(_ name: String, _ mode: FaultProxy.Mode = .drop) {
        for other in names where other != name {
            set(from: name, to: other, mode)
            set(from: other, to: name, mode)
        }
    }

    /// Every link passes again.
    public func heal() {
        for proxy in links.values { proxy.set(.pass) }
    }

    public func stop() {
        for proxy in links.values { proxy.stop() }
    }

    private func proxy(_ from: String, _ to: String) -> FaultProxy {
        guard let p = links[Link(from: from, to: to)] else { preconditionFailure("no link \(from)→\(to)") }
        return p
    }
}
