@_exported import ClusterFutures
