import Model
import Shared

/// The items of a list route, from one page or from every page.
struct ListedItems {
    var items: [JSONValue]
    /// Set when more items exist than were fetched (one page only).
    var nextCursor: String?
    /// The server's body, when exactly one page was fetched; `--json` prints it as-is.
    var singlePageBody: [UInt8]?

    /// `{"items":[…]}`, the shape of one page, for `--json` after following every page.
    var jsonBytes: [UInt8] {
        if let singlePageBody { return singlePageBody }
        var w = JSONWriter(capacity: 256 + items.count * 512)
        w.beginObject()
        w.key("items")
        w.beginArray()
        for item in items { w.value(item) }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}

extension APISession {
    /// Pages fetched at most by `all: true`: a million items at the largest page size.
    static let pagesMax = 1_000
    /// The page size `all: true` uses when the user gave none: the server's maximum.
    static let allPageSize = 1_000

    /// `GET path?query` and, with `all`, every following page by `nextCursor`.
    func list(_ path: String, query: [(String, String)], limit: Int?, all: Bool) throws(CLIFailure) -> ListedItems {
        var result = ListedItems(items: [])
        var cursor: String?
        let pageSize = limit ?? (all ? Self.allPageSize : nil)
        for _ in 0..<Self.pagesMax {
            var items = query
            if let pageSize { items.append(("limit", String(pageSize))) }
            if let cursor { items.append(("cursor", cursor)) }
            let target = RequestTarget.with(path, query: items)
            let (raw, value) = try json(.GET, target)
            guard case .array(let pageItems)? = value["items"] else {
                throw .failed("GET \(target): the reply has no items array")
            }
            result.items += pageItems
            var next: String?
            if case .string(let text)? = value["nextCursor"] { next = text }
            if !all {
                result.nextCursor = next
                result.singlePageBody = raw
                return result
            }
            guard let next else { return result }
            guard next != cursor else { throw .failed("GET \(target): the server returned the same cursor twice") }
            cursor = next
        }
        throw .failed("GET \(path): stopped after \(Self.pagesMax) pages")
    }
}
