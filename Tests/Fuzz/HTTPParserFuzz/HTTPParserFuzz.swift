// libFuzzer entry for `HTTPParser`. Built by `Tests/Fuzz/run.sh HTTPParserFuzz SECONDS` together
// with the parser sources and `HTTPParseTranscript`; never part of `swift build`.
//
// The input layout and the invariants are in `HTTPParseTranscript.checkSplitInvariance`, which the
// regression test replays too.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    if let failure = HTTPParseTranscript.checkSplitInvariance(Array(UnsafeBufferPointer(start: data, count: size))) {
        preconditionFailure(failure)
    }
    return 0
}
