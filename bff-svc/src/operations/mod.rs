//! bff's operations. None: it changes nothing, it only reads accounting (see `grpc`).
