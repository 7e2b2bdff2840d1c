#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// Derived datatypes (`MPI_Type_contiguous`, `MPI_Type_vector`, `MPI_Type_create_struct`, mpi4py's
/// `Create_contiguous`, `Create_vector`, `Create_struct`), committed and ready to use.
///
/// Use them with ``Communicator/send(_:count:datatype:to:tag:)`` and
/// ``Communicator/receive(into:count:datatype:from:tag:)``, which check that `count` of them fit the
/// array; or make a `BitwiseCopyable` struct an ``MPIScalar`` whose ``MPIScalar/mpiDatatype`` is a
/// ``structure(of:fields:counts:)`` datatype made once, and use every typed call. Free a datatype with
/// ``free()`` once no operation uses it.
extension Datatype {
    /// `count` consecutive elements of `element` (`MPI_Type_contiguous`), committed.
    public static func contiguous(_ count: Int, of element: Datatype) throws -> Datatype {
        var new: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_contiguous") { MPI_Type_contiguous(Int32(clamping: count), element.handle, &new) }
        return try committed(new)
    }

    /// `count` blocks of `blockLength` elements of `element`, the starts of consecutive blocks
    /// `stride` elements apart (`MPI_Type_vector`), committed: a column of a row-major matrix with
    /// `rows` rows and `columns` columns is `vector(count: rows, blockLength: 1, stride: columns, of:
    /// .double)`.
    public static func vector(count: Int, blockLength: Int, stride: Int, of element: Datatype) throws -> Datatype {
        var new: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_vector") {
            MPI_Type_vector(Int32(clamping: count), Int32(clamping: blockLength), Int32(clamping: stride), element.handle, &new)
        }
        return try committed(new)
    }

    /// The datatype of a `BitwiseCopyable` struct `T`, from its stored fields (`MPI_Type_create_struct`
    /// with the fields' offsets, resized with `MPI_Type_create_resized` to `T`'s stride so that
    /// arrays of `T` work), committed. Padding is not sent.
    ///
    /// ```swift
    /// struct Particle: BitwiseCopyable { var position: Double; var id: Int32 }
    /// let type = try Datatype.structure(of: Particle.self, fields: [(\.position, .double), (\.id, .int32)])
    /// try world.send([Particle(position: 0.5, id: 7)], count: 1, datatype: type, to: 1)
    /// ```
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/argument``) for a key path that is not a
    ///   stored field.
    public static func structure<T: BitwiseCopyable>(of type: T.Type, fields: [(PartialKeyPath<T>, Datatype)],
                                                     counts: [Int]? = nil) throws -> Datatype {
        var displacements: [MPI_Aint] = []
        for (path, _) in fields {
            guard let offset = MemoryLayout<T>.offset(of: path) else {
                throw MPIError(errorClass: cmpich_err_arg(), function: "MPI_Type_create_struct",
                               message: "a key path of \(T.self) is not a stored field")
            }
            displacements.append(MPI_Aint(offset))
        }
        var lengths = (counts ?? Array(repeating: 1, count: fields.count)).map { Int32(clamping: $0) }
        guard lengths.count == fields.count else {
            throw MPIError(errorClass: cmpich_err_arg(), function: "MPI_Type_create_struct",
                           message: "\(lengths.count) counts for \(fields.count) fields")
        }
        var types = fields.map { $0.1.handle }
        var inner: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_create_struct") {
            MPI_Type_create_struct(Int32(fields.count), &lengths, &displacements, &types, &inner)
        }
        defer { _ = MPI_Type_free(&inner) }
        var resized: MPIHandle<MPI_Datatype> = cmpich_datatype_null()
        try mpiCall("MPI_Type_create_resized") {
            MPI_Type_create_resized(inner, 0, MPI_Aint(MemoryLayout<T>.stride), &resized)
        }
        return try committed(resized)
    }

    /// The number of bytes of data in one element, without gaps (`MPI_Type_size`, mpi4py's `size`).
    public func size() throws -> Int {
        var size: Int32 = 0
        try mpiCall("MPI_Type_size") { MPI_Type_size(handle, &size) }
        return Int(size)
    }

    /// The distance from one element to the next in an array of them, in bytes, and the lower bound
    /// (`MPI_Type_get_extent`, mpi4py's `extent` and `lb`).
    public func extent() throws -> (lowerBound: Int, extent: Int) {
        var lowerBound: MPI_Aint = 0
        var extent: MPI_Aint = 0
        try mpiCall("MPI_Type_get_extent") { MPI_Type_get_extent(handle, &lowerBound, &extent) }
        return (Int(lowerBound), Int(extent))
    }

    /// Frees a derived datatype (`MPI_Type_free`, mpi4py's `Free`); copies become invalid.
    /// Operations already started with it finish normally. Never free a predefined datatype.
    public func free() throws {
        var handle = self.handle
        try mpiCall("MPI_Type_free") { MPI_Type_free(&handle) }
    }

    /// Commits a new datatype (`MPI_Type_commit`), freeing it if that fails.
    private static func committed(_ handle: MPIHandle<MPI_Datatype>) throws -> Datatype {
        var handle = handle
        do {
            try mpiCall("MPI_Type_commit") { MPI_Type_commit(&handle) }
        } catch {
            _ = MPI_Type_free(&handle)
            throw error
        }
        return Datatype(handle: handle)
    }

    /// The bytes `count` elements of this datatype span from the start of a buffer (`MPI_Type_get_true_extent`
    /// for the last element, after `count - 1` extents); throws if they would reach before the start.
    internal func span(_ count: Int) throws -> Int {
        guard count > 0 else { return 0 }
        var trueLowerBound: MPI_Aint = 0
        var trueExtent: MPI_Aint = 0
        try mpiCall("MPI_Type_get_true_extent") { MPI_Type_get_true_extent(handle, &trueLowerBound, &trueExtent) }
        let (_, extent) = try self.extent()
        guard trueLowerBound >= 0, extent >= 0 else {
            throw MPIError(errorClass: cmpich_err_arg(), function: "Datatype",
                           message: "datatypes that reach before the buffer's start are not supported")
        }
        return Int(trueLowerBound) + (count - 1) * extent + Int(trueExtent)
    }
}

extension Communicator {
    /// Sends `count` elements of `datatype` laid out in `buffer`'s storage, without copying
    /// (`MPI_Send` with a derived datatype, mpi4py's `Send([buffer, count, datatype])`), such as a
    /// column of a matrix with a ``Datatype/vector(count:blockLength:stride:of:)`` datatype.
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/argument``) if `count` elements of `datatype`
    ///   reach beyond the array.
    public func send<T: BitwiseCopyable>(_ buffer: [T], count: Int, datatype: Datatype, to destination: Int, tag: Int = 0) throws {
        try checkSpan(buffer.count * MemoryLayout<T>.stride, count: count, datatype: datatype, "MPI_Send")
        let mpiCount = try Self.int32(count, "MPI_Send")
        try buffer.withUnsafeBytes { raw in
            try mpiCall("MPI_Send") {
                MPI_Send(raw.baseAddress, mpiCount, datatype.handle, Int32(clamping: destination), Int32(clamping: tag), handle)
            }
        }
    }

    /// Receives up to `count` elements of `datatype` straight into `buffer`'s storage (`MPI_Recv`
    /// with a derived datatype, mpi4py's `Recv([buffer, count, datatype])`). Bytes between the
    /// datatype's pieces are left as they were. The status's `count` is the bytes of data received.
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/argument``) if `count` elements of `datatype`
    ///   reach beyond the array; class ``MPIError/Class/truncate`` for a longer message.
    @discardableResult
    public func receive<T: BitwiseCopyable>(into buffer: inout [T], count: Int, datatype: Datatype,
                                            from source: Source = .any, tag: Tag = .any) throws -> Status {
        try checkSpan(buffer.count * MemoryLayout<T>.stride, count: count, datatype: datatype, "MPI_Recv")
        let mpiCount = try Self.int32(count, "MPI_Recv")
        var status = MPI_Status()
        try buffer.withUnsafeMutableBytes { raw in
            try mpiCall("MPI_Recv") {
                MPI_Recv(raw.baseAddress, mpiCount, datatype.handle, source.mpiValue, tag.mpiValue, handle, &status)
            }
        }
        return Status(status, datatype: cmpich_byte(), stride: 1)
    }

    /// Throws unless `count` elements of `datatype` fit in `bytes`.
    private func checkSpan(_ bytes: Int, count: Int, datatype: Datatype, _ function: StaticString) throws {
        let span = try datatype.span(count)
        guard span <= bytes else {
            throw Self.argumentError(function, "\(count) elements of the datatype span \(span) bytes; the array has \(bytes)")
        }
    }
}
