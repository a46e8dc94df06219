import Glibc

/// Thin wrappers over the POSIX calls the log and snapshots use. Each retries `EINTR`, finishes
/// short reads and writes, and turns failures into `StorageError.io` naming the call and the file.
/// Each call that changes the disk passes `StorageFaults.check` first (tests inject faults there).
enum POSIXFile {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(StorageError) -> Int32 {
        try StorageFaults.check(.open, path)
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw .io("open \(path)", errno: errno) }
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // Linux closes the descriptor even when close reports an error.
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String)
        throws(StorageError)
    {
        try StorageFaults.check(.write, path)
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw .io("write \(path)", errno: n < 0 ? errno : EIO)
        }
    }

    /// Reads exactly `count` bytes at `offset`; a file shorter than that is an error.
    static func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws(StorageError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var failure: StorageError?
        result.withUnsafeMutableBytes { buffer in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = .io("read \(path)", errno: n < 0 ? errno : EIO)
                return
            }
        }
        if let failure { throw failure }
        return result
    }

    static func size(_ fd: Int32, path: String) throws(StorageError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("fstat \(path)", errno: errno) }
        return Int(info.st_size)
    }

    /// The whole file in memory.
    static func readAll(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, count: try size(fd, path: path), at: 0, path: path)
    }

    /// `fdatasync` when `dataOnly` (size changes are still flushed), else `fsync`.
    static func sync(_ fd: Int32, path: String, dataOnly: Bool = false) throws(StorageError) {
        try StorageFaults.check(.sync, path)
        while (dataOnly ? fdatasync(fd) : fsync(fd)) != 0 {
            if errno != EINTR { throw .io("fsync \(path)", errno: errno) }
        }
    }

    static func truncate(_ fd: Int32, to length: Int, path: String) throws(StorageError) {
        try StorageFaults.check(.truncate, path)
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw .io("ftruncate \(path)", errno: errno) }
        }
    }

    /// Makes creations, renames and deletions in `directory` durable.
    static func syncDirectory(_ directory: String) throws(StorageError) {
        try StorageFaults.check(.syncDirectory, directory)
        let fd = try open(directory, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd, path: directory)
    }

    static func makeDirectory(_ path: String) throws(StorageError) {
        try StorageFaults.check(.makeDirectory, path)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io("mkdir \(path)", errno: errno) }
    }

    static func rename(_ from: String, _ to: String) throws(StorageError) {
        try StorageFaults.check(.rename, from)
        if Glibc.rename(from, to) != 0 { throw .io("rename \(from) to \(to)", errno: errno) }
    }

    static func unlink(_ path: String) throws(StorageError) {
        try StorageFaults.check(.unlink, path)
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw .io("unlink \(path)", errno: errno) }
    }

    /// Names of the entries in `directory`, without "." and "..".
    static func list(_ directory: String) throws(StorageError) -> [String] {
        guard let dir = opendir(directory) else { throw .io("opendir \(directory)", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for bodies that throw `StorageError` (the standard one only rethrows
    /// untyped errors).
    func withStorageBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        let result: Result<R, StorageError> = withUnsafeBytes { raw in
            Result { () throws(StorageError) -> R in try body(raw) }
        }
        return try result.get()
    }
}
