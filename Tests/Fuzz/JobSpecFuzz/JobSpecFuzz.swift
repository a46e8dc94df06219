// libFuzzer entry for job JSON: parse, decode strictly, validate. Built by
// `Tests/Fuzz/run.sh JobSpecFuzz SECONDS` together with Sources/Shared/Model and
// `jobSpecRoundTripFailure`; never part of `swift build`. The invariant is documented there, and
// `JobSpecFuzzRegressionTests` replays every seed and saved crash input through it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    if let failure = jobSpecRoundTripFailure(Array(UnsafeBufferPointer(start: data, count: size))) {
        preconditionFailure(failure)
    }
    return 0
}
