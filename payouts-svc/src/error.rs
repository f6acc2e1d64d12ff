//! payouts's errors and their one mapping to gRPC statuses. None yet.
