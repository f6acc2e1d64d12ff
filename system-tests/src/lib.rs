//! aTES system tests live in `tests/`: they start the real service binaries as separate
//! processes and drive them through their public gRPC APIs only.
