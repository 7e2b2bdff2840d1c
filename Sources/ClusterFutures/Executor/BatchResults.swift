/// The results of a batch of calls to one function, one per input, in input order: what
/// ``Executor/submit(_:batch:)`` delivers.
///
/// When every call succeeded (the common case) the values are stored as one array, without a
/// `Result` per item; ``value(at:)`` reads them directly.
public struct BatchResults<Output: Sendable>: Sendable, RandomAccessCollection {
    enum Storage: Sendable {
        case values([Output])
        case mixed([Result<Output, any Error>])
    }

    let storage: Storage

    /// The number of results; stored, so that reading it costs nothing in generic code.
    public let count: Int

    init(values: [Output]) {
        storage = .values(values)
        count = values.count
    }

    init(_ results: [Result<Output, any Error>]) {
        storage = .mixed(results)
        count = results.count
    }

    /// Zero: results are indexed like the batch's inputs.
    public var startIndex: Int { 0 }

    /// The number of inputs, ``count``.
    public var endIndex: Int { count }

    /// The result of the call on input `index`.
    public subscript(index: Int) -> Result<Output, any Error> {
        switch storage {
        case .values(let values): .success(values[index])
        case .mixed(let results): results[index]
        }
    }

    /// The value of the call on input `index`, or its error thrown.
    public func value(at index: Int) throws -> Output {
        switch storage {
        case .values(let values): values[index]
        case .mixed(let results): try results[index].get()
        }
    }

    /// Every value, or the first error thrown.
    public func values() throws -> [Output] {
        switch storage {
        case .values(let values): values
        case .mixed(let results): try results.map { try $0.get() }
        }
    }
}
