import Logging

/// The `LogHandler` of every `Logger` made in a worker once forwarding is installed
/// (``WorkerLogging/install(_:)``): it sends each record to the pool's process, which logs it into
/// the pool's logger with the worker's index or rank, pid and host.
///
/// Its level is the pool's (``WorkerLogSink/level``) until the logger sets one of its own; its
/// metadata and metadata provider are the logger's, as for any handler. It holds no lock of its
/// own: the sink's `send` serializes what it writes.
package struct ForwardingLogHandler: LogHandler {
    /// The label of the `Logger` it serves.
    package let label: String
    private let sink: WorkerLogSink
    private var ownLevel: Logger.Level?
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger labelled `label`, forwarding to `sink`.
    package init(label: String, sink: WorkerLogSink, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    package var logLevel: Logger.Level {
        get { ownLevel ?? sink.level }
        set { ownLevel = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        sink.forward(ForwardedLogRecord(event, label: label, metadata: merged), event: event)
    }
}
