//! payouts's gRPC API and its proto conversions. Not served yet.
