/// Pi by the alternating (Leibniz) series, `pi/4 = 1 - 1/3 + 1/5 - 1/7 + ...`, cut into slices of
/// consecutive terms: what `cf-pi` and `cf-pi-master-worker` hand out to their workers.
public enum PiSeries {
    /// Slices in a run unless `--slices` says otherwise.
    public static let defaultSlices = 50
    /// Terms of the series in each slice unless `--terms` says otherwise.
    public static let defaultTerms = 1_000_000

    /// What is wrong with a run of `slices` slices of `terms` terms, as `--slices` and `--terms`
    /// would be told, or nil when nothing is: both must be at least 1, and the series' last index
    /// must stay below 2^52, where a `Double` still holds every integer.
    public static func problem(slices: Int, terms: Int) -> String? {
        guard slices >= 1, terms >= 1 else { return "--slices and --terms must be at least 1" }
        guard slices.multipliedReportingOverflow(by: terms).overflow == false, slices * terms < 1 << 52 else {
            return "--slices times --terms must stay below 2^52"
        }
        return nil
    }

    /// The sum of the series' terms `index * terms ..< (index + 1) * terms`, term `n` being
    /// `(-1)^n / (2n + 1)`.
    ///
    /// The terms are added from the last (the smallest) to the first, so that each addition's
    /// rounding is relative to a partial sum no larger than the terms still to come: adding a
    /// million terms from the large end would lose the small ones' digits to the large partial sum.
    public static func sliceSum(index: Int, terms: Int) -> Double {
        let first = index * terms
        var sum = 0.0
        var n = first + terms - 1
        while n >= first {
            let term = 1.0 / Double(2 * n + 1)
            sum += n & 1 == 0 ? term : -term
            n -= 1
        }
        return sum
    }

    /// Pi from every slice's sum, `sums[i]` being slice `i`'s: added from the last slice (the
    /// smallest) to the first, for the same reason as the terms within a slice.
    public static func pi(fromSliceSums sums: [Double]) -> Double {
        4 * sums.reversed().reduce(0, +)
    }

    /// How far the series cut after `terms` terms is from pi, whatever the rounding: about
    /// `1 / terms` (the alternating series' remainder), the error to expect.
    public static func truncationError(terms: Int) -> Double {
        1 / Double(terms)
    }
}
