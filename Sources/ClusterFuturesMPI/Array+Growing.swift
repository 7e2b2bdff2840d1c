extension Array {
    /// Sets the element at `index`, first growing the array with `filler` when it is too short:
    /// for tables indexed by small numbers that are handed out as they are needed (function
    /// numbers), kept as arrays because they are read for every task.
    mutating func set(_ element: Element, at index: Int, growingWith filler: Element) {
        if index >= count { append(contentsOf: repeatElement(filler, count: index + 1 - count)) }
        self[index] = element
    }
}
