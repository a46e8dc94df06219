// Shared by the model tests and the job spec fuzz target (which compiles this file together with
// the model sources, hence the conditional import).
#if canImport(Model)
import Model
#endif

/// The job decoder's fuzz invariant: any input either fails to parse or decode, or decodes to a
/// spec whose encoding decodes back to an equal spec. Validation may refuse it, but never trap.
/// Returns a description of the failure, or nil.
func jobSpecRoundTripFailure(_ bytes: [UInt8]) -> String? {
    guard let value = try? JSONParser.parse(bytes), let spec = try? JobSpec(json: value) else { return nil }
    _ = try? spec.validate()
    var writer = JSONWriter()
    spec.write(to: &writer)
    guard let reparsed = try? JSONParser.parse(writer.bytes), let again = try? JobSpec(json: reparsed), again == spec else {
        return "round trip changed the spec: \(String(decoding: writer.bytes, as: UTF8.self))"
    }
    return nil
}
