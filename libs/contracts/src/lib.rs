//! The aTES contracts, generated from `proto/` at build time: gRPC clients and servers of the six
//! services, every event message, and the event envelope. [`routing`] says where each event goes.
//!
//! Module paths follow the protobuf packages: `ates.tracker.events.v1.TaskAdded` is
//! [`ates::tracker::events::v1::TaskAdded`].

pub mod codec;
pub mod routing;
pub mod time;

/// Generated code, one module per protobuf package.
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    unused_qualifications
)]
pub mod ates {
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("ates.events.v1");
        }
    }
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("ates.auth.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("ates.auth.events.v1");
            }
        }
    }
    pub mod tracker {
        pub mod v1 {
            tonic::include_proto!("ates.tracker.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("ates.tracker.events.v1");
            }
            pub mod v2 {
                tonic::include_proto!("ates.tracker.events.v2");
            }
        }
    }
    pub mod accounting {
        pub mod v1 {
            tonic::include_proto!("ates.accounting.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("ates.accounting.events.v1");
            }
        }
    }
    pub mod payouts {
        pub mod v1 {
            tonic::include_proto!("ates.payouts.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("ates.payouts.events.v1");
            }
        }
    }
    pub mod bff {
        pub mod v1 {
            tonic::include_proto!("ates.bff.v1");
        }
    }
    pub mod analytics {
        pub mod v1 {
            tonic::include_proto!("ates.analytics.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("ates.analytics.events.v1");
            }
        }
    }
}

/// The encoded `FileDescriptorSet` of every aTES proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ates_descriptor");
