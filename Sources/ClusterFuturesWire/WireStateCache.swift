#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Each top-level `encode` / `decode` of a non-primitive needs a state object and a few small
// arrays (open frames, key table, coding path). Allocating them per call dominated the cost of
// the tiny messages most tasks send, so every thread keeps one spare state of each kind and
// reuses it, with the arrays' capacity.
//
// A state is put back only when nothing else references it (`isKnownUniquelyReferenced`): an
// `Encoder`, `Decoder` or container that escaped the call keeps a reference, and such a state is
// simply dropped. A state is taken out of the slot while in use, so a nested call on the same
// thread (an `encode(to:)` that itself encodes a message) gets a fresh one. A state whose arrays
// grew large is dropped rather than kept for the life of the thread.

/// One per-thread slot holding a retained object, released when the thread exits.
struct _WireThreadSlot {
    let key: pthread_key_t

    init?() {
        var key = pthread_key_t()
        #if canImport(Darwin)
        let status = pthread_key_create(&key) { Unmanaged<AnyObject>.fromOpaque($0).release() }
        #else
        let status = pthread_key_create(&key) { raw in
            if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() }
        }
        #endif
        guard status == 0 else { return nil }
        self.key = key
    }

    /// Takes the object out of the slot (leaving it empty), returning it at +1.
    @inline(__always)
    func take<T: AnyObject>(_: T.Type) -> T? {
        guard let raw = pthread_getspecific(key) else { return nil }
        pthread_setspecific(key, nil)
        return Unmanaged<T>.fromOpaque(raw).takeRetainedValue()
    }

    /// Stores `object` if the slot is empty.
    @inline(__always)
    func put<T: AnyObject>(_ object: T) {
        guard pthread_getspecific(key) == nil else { return }
        pthread_setspecific(key, Unmanaged.passRetained(object).toOpaque())
    }
}

let _wireEncoderStateSlot = _WireThreadSlot()
let _wireDecoderStateSlot = _WireThreadSlot()

/// Largest array capacity a spare state keeps; beyond it the state is dropped instead.
let _wireSpareCapacityLimit = 256

extension _WireEncoderState {
    /// This thread's spare state, or a new one.
    @inline(__always)
    static func acquire() -> _WireEncoderState {
        if let slot = _wireEncoderStateSlot, let state = slot.take(_WireEncoderState.self) { return state }
        return _WireEncoderState()
    }

    /// Keeps `state` as this thread's spare if no container or encoder still references it.
    /// `state.bytes` must already have been handed back to the caller.
    @inline(__always)
    static func recycle(_ state: inout _WireEncoderState) {
        guard isKnownUniquelyReferenced(&state), let slot = _wireEncoderStateSlot, state.reset() else { return }
        slot.put(state)
    }

    /// Clears everything one call left behind, keeping small arrays' capacity; false if the state
    /// holds too much memory to keep.
    private func reset() -> Bool {
        guard frames.capacity <= _wireSpareCapacityLimit, keyList.capacity <= _wireSpareCapacityLimit,
            path.capacity <= _wireSpareCapacityLimit, keyIndex.isEmpty, bytes.capacity == 0,
            outOfBand.isEmpty, outOfBandMinimum == Int.max
        else { return false }
        // One element at a time: `removeAll(keepingCapacity:)` costs more for these few elements.
        while !frames.isEmpty { frames.removeLast() }
        while !keyList.isEmpty { keyList.removeLast() }
        while !path.isEmpty { path.removeLast() }
        if pendingError != nil { pendingError = nil }
        // `nextFrameID` keeps counting: frame ids never repeat on this state.
        return true
    }
}

extension _WireDecoderState {
    /// This thread's spare state pointed at `base`, or a new one, with the allocation budget of
    /// `inputBytes` bytes of input.
    @inline(__always)
    static func acquire(
        base: UnsafeRawPointer, count: Int, limits: WireLimits, inputBytes: Int
    ) -> _WireDecoderState {
        if let slot = _wireDecoderStateSlot, let state = slot.take(_WireDecoderState.self) {
            state.start(base: base, count: count, limits: limits, inputBytes: inputBytes)
            return state
        }
        return _WireDecoderState(base: base, count: count, limits: limits, inputBytes: inputBytes)
    }

    /// Keeps `state` as this thread's spare if no container or decoder still references it.
    @inline(__always)
    static func recycle(_ state: inout _WireDecoderState) {
        guard isKnownUniquelyReferenced(&state), let slot = _wireDecoderStateSlot, state.reset() else { return }
        slot.put(state)
    }

    private func reset() -> Bool {
        guard path.capacity <= _wireSpareCapacityLimit, hints.capacity <= _wireSpareCapacityLimit,
            outOfBand.isEmpty
        else {
            return false
        }
        // `keys` and the cached key table stay: the next message often has the same table.
        while !path.isEmpty { path.removeLast() }
        while !hints.isEmpty { hints.removeLast() }
        nesting = 0
        return true
    }
}

/// A small direct-mapped cache of a per-type answer (here: the result of a conformance cast,
/// which costs a runtime hash lookup each time). Lives in a state object, so it is only touched by
/// one thread at a time and survives as long as the thread's spare state.
struct _WireTypeCache<Value> {
    private var ids: [ObjectIdentifier?] = []
    private var values: [Value?] = []

    private static var size: Int { 16 }

    /// The cached answer for `T`, computing and storing it on a miss.
    @inline(__always)
    mutating func value<T>(for _: T.Type, _ compute: () -> Value?) -> Value? {
        let id = ObjectIdentifier(T.self)
        let bits = UInt(bitPattern: id)
        let slot = Int(truncatingIfNeeded: (bits >> 4) ^ (bits >> 10)) & (Self.size - 1)
        if ids.count == Self.size, ids[slot] == id { return values[slot] }
        let value = compute()
        if ids.count != Self.size {
            ids = Array(repeating: nil, count: Self.size)
            values = Array(repeating: nil, count: Self.size)
        }
        ids[slot] = id
        values[slot] = value
        return value
    }
}
