//! Events bff consumes. None: it reads accounting over gRPC instead.
