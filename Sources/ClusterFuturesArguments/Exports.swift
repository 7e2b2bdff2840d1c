// One import for a command-line program: the executors (and through them the core) and the
// argument parser that ``ExecutorOptions`` and ``ClusterCommand`` build on.
@_exported import ArgumentParser
@_exported import ClusterFuturesMPI
