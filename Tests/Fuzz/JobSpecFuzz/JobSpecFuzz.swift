// libFuzzer entry for job JSON: parse, decode strictly, validate. Built by Tests/Fuzz/run.sh
// together with Sources/Shared/Model, never by `swift build`.
//
// Invariants checked on every input: nothing crashes or traps; a spec that decodes encodes to
// JSON that decodes back to an equal spec (so what the store logs is what the user sent).

@_cdecl("LLVMFuzzerTestOneInput")
public func jobSpecFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    guard let spec = try? JobSpec(json: value) else { return 0 }
    _ = try? spec.validate()
    var writer = JSONWriter()
    spec.write(to: &writer)
    guard let reparsed = try? JSONParser.parse(writer.bytes), let again = try? JobSpec(json: reparsed), again == spec else {
        fatalError("round trip changed the spec: \(String(decoding: writer.bytes, as: UTF8.self))")
    }
    return 0
}
