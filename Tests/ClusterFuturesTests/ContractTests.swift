import ClusterFutures
import ClusterFuturesTestSupport
import Foundation
import Testing

/// The scenarios of ``ContractScenarios`` on the inline executor and the process pool; the MPI
/// pool runs the same ones under `mpiexec` (ClusterFuturesMPITests).
///
/// Serialized: the pool scenarios need both cores of a small machine to themselves.
@Suite("The executor contract, on every local executor", .serialized)
struct ContractTests {
    init() throws { try TestFunctions.register() }

    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case inlineLazy = "inline, lazy"
        case inlineEager = "inline, eager"
        case processPool = "process pool of 2"

        var testDescription: String { rawValue }

        func subject() throws -> ContractScenarios.Subject {
            switch self {
            case .inlineLazy: ContractScenarios.Subject(InlineDummyExecutor(mode: .lazy), runsInCaller: true)
            case .inlineEager: ContractScenarios.Subject(InlineDummyExecutor(mode: .eager), runsInCaller: true)
            case .processPool: ContractScenarios.Subject(try LocalProcessPoolExecutor(workers: 2))
            }
        }
    }

    @Test(arguments: Kind.allCases, ContractScenarios.all.map(\.name))
    func scenario(_ kind: Kind, _ name: String) throws {
        let subject = try kind.subject()
        defer { subject.executor.shutdown(wait: true, cancelFutures: true) }
        let scenario = try #require(ContractScenarios.all.first { $0.name == name })
        do {
            _ = try scenario.run(subject)
        } catch let failure as ContractScenarios.Failure {
            Issue.record("\(name) on \(kind.rawValue): \(failure)")
        }
    }
}
