//! Where every event goes: the one table of exchanges, routing keys and consuming services.
//!
//! Each event type is published to one durable topic exchange of its producer, with its fully
//! qualified type name (which includes the schema version) as routing key. Every consuming service
//! has one durable quorum queue per exchange it reads, bound to exactly the routing keys it
//! consumes, so an event reaches only the services listed here (emails reach payouts alone).
//! A new schema version is a new row: consumers bind the new key beside the old one while
//! producers move over.

/// The six aTES services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// auth-svc: accounts, sign-in, signing keys.
    Auth,
    /// tracker-svc: tasks and assignments.
    Tracker,
    /// accounting-svc: the ledger.
    Accounting,
    /// payouts-svc: end-of-day close.
    Payouts,
    /// bff-svc: the accounting dashboard's API.
    Bff,
    /// analytics-svc: the admin dashboard.
    Analytics,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 6] = [
        Service::Auth,
        Service::Tracker,
        Service::Accounting,
        Service::Payouts,
        Service::Bff,
        Service::Analytics,
    ];

    /// The short name used in queue names and configuration (`"tracker"`).
    pub const fn name(self) -> &'static str {
        match self {
            Service::Auth => "auth",
            Service::Tracker => "tracker",
            Service::Accounting => "accounting",
            Service::Payouts => "payouts",
            Service::Bff => "bff",
            Service::Analytics => "analytics",
        }
    }

    /// The name of the service's binary and its `producer` in event envelopes (`"tracker-svc"`).
    pub const fn binary_name(self) -> &'static str {
        match self {
            Service::Auth => "auth-svc",
            Service::Tracker => "tracker-svc",
            Service::Accounting => "accounting-svc",
            Service::Payouts => "payouts-svc",
            Service::Bff => "bff-svc",
            Service::Analytics => "analytics-svc",
        }
    }
}

/// The route of one event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Fully qualified protobuf name of the event, e.g. `ates.tracker.events.v1.TaskAdded`;
    /// also the routing key.
    pub event_type: &'static str,
    /// The topic exchange the producer publishes it to.
    pub exchange: &'static str,
    /// The service that produces it.
    pub producer: Service,
    /// The services that consume it.
    pub consumers: &'static [Service],
}

impl Route {
    /// The routing key the event is published with: its fully qualified type name.
    pub const fn routing_key(&self) -> &'static str {
        self.event_type
    }
}

/// Account lifecycle from auth (CUD). Emails go to payouts alone.
pub const AUTH_ACCOUNTS: &str = "ates.auth.accounts";
/// Task business events from the tracker: assignments and completions, for the ledger.
pub const TRACKER_TASK_LIFECYCLE: &str = "ates.tracker.task-lifecycle";
/// Task data from the tracker (CUD): creation with prices, description updates.
pub const TRACKER_TASKS: &str = "ates.tracker.tasks";
/// Balances from accounting (CUD).
pub const ACCOUNTING_BILLS: &str = "ates.accounting.bills";
/// Ledger entries from accounting (CUD).
pub const ACCOUNTING_AUDIT_LOG: &str = "ates.accounting.audit-log";
/// Payouts made at the close of a business day (business events).
pub const PAYOUTS_PAYOUTS: &str = "ates.payouts.payouts";
pub const ANALYTICS_RESYNC: &str = "ates.analytics.resync";

/// Every event of aTES and where it goes.
pub const ROUTES: &[Route] = &[
    Route {
        event_type: "ates.auth.events.v1.AccountCreated",
        exchange: AUTH_ACCOUNTS,
        producer: Service::Auth,
        consumers: &[
            Service::Tracker,
            Service::Accounting,
            Service::Analytics,
            Service::Payouts,
        ],
    },
    Route {
        event_type: "ates.auth.events.v1.AccountRoleChanged",
        exchange: AUTH_ACCOUNTS,
        producer: Service::Auth,
        consumers: &[Service::Tracker, Service::Analytics, Service::Payouts],
    },
    Route {
        event_type: "ates.auth.events.v1.AccountEmailSet",
        exchange: AUTH_ACCOUNTS,
        producer: Service::Auth,
        consumers: &[Service::Payouts],
    },
    Route {
        event_type: "ates.auth.events.v1.AccountsSnapshot",
        exchange: AUTH_ACCOUNTS,
        producer: Service::Auth,
        consumers: &[Service::Accounting, Service::Analytics],
    },
    Route {
        event_type: "ates.tracker.events.v1.TaskAdded",
        exchange: TRACKER_TASK_LIFECYCLE,
        producer: Service::Tracker,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.tracker.events.v1.TasksReassigned",
        exchange: TRACKER_TASK_LIFECYCLE,
        producer: Service::Tracker,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.tracker.events.v1.TaskCompleted",
        exchange: TRACKER_TASK_LIFECYCLE,
        producer: Service::Tracker,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.tracker.events.v1.TaskCreated",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.tracker.events.v1.TaskDescriptionUpdated",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Accounting, Service::Analytics],
    },
    Route {
        event_type: "ates.tracker.events.v1.TasksSnapshot",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Analytics],
    },
    // Version 2 of the task events (title and jira id): consumers read both versions; the
    // tracker publishes the one TRACKER_TASK_EVENTS_VERSION names. TaskCompleted has no v2.
    Route {
        event_type: "ates.tracker.events.v2.TaskAdded",
        exchange: TRACKER_TASK_LIFECYCLE,
        producer: Service::Tracker,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.tracker.events.v2.TasksReassigned",
        exchange: TRACKER_TASK_LIFECYCLE,
        producer: Service::Tracker,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.tracker.events.v2.TaskCreated",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.tracker.events.v2.TaskDetailsUpdated",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Accounting, Service::Analytics],
    },
    Route {
        event_type: "ates.tracker.events.v2.TasksSnapshot",
        exchange: TRACKER_TASKS,
        producer: Service::Tracker,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.accounting.events.v1.BillUpdated",
        exchange: ACCOUNTING_BILLS,
        producer: Service::Accounting,
        consumers: &[Service::Payouts, Service::Analytics],
    },
    Route {
        event_type: "ates.accounting.events.v1.AuditLogEntryCreated",
        exchange: ACCOUNTING_AUDIT_LOG,
        producer: Service::Accounting,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.accounting.events.v1.BillsSnapshot",
        exchange: ACCOUNTING_BILLS,
        producer: Service::Accounting,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.accounting.events.v1.AuditLogSnapshot",
        exchange: ACCOUNTING_AUDIT_LOG,
        producer: Service::Accounting,
        consumers: &[Service::Analytics],
    },
    Route {
        event_type: "ates.payouts.events.v1.BillZeroed",
        exchange: PAYOUTS_PAYOUTS,
        producer: Service::Payouts,
        consumers: &[Service::Accounting],
    },
    Route {
        event_type: "ates.analytics.events.v1.ResyncRequested",
        exchange: ANALYTICS_RESYNC,
        producer: Service::Analytics,
        consumers: &[Service::Auth, Service::Tracker, Service::Accounting],
    },
];

/// A stream of state a producer sends again for a resync (`ates.events.v1.SnapshotBatch`), as
/// batches of a snapshot event type (one per schema version the producer may send; one resync
/// sends the stream in one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStream {
    /// Its name in `SnapshotBatch.stream`.
    pub name: &'static str,
    /// The service that sends it.
    pub producer: Service,
    /// The event types of its batches, oldest schema version first.
    pub event_types: &'static [&'static str],
}

/// Accounts and their roles, from auth.
pub const ACCOUNTS_STREAM: &str = "accounts";
/// Tasks with their descriptions and prices, from the tracker.
pub const TASKS_STREAM: &str = "tasks";
/// Balances, from accounting.
pub const BILLS_STREAM: &str = "bills";
/// The employees' ledger entries, from accounting.
pub const AUDIT_LOG_STREAM: &str = "audit-log";

/// Every snapshot stream: what a resync (`ates.analytics.events.v1.ResyncRequested`) gets back.
pub const SNAPSHOT_STREAMS: &[SnapshotStream] = &[
    SnapshotStream {
        name: ACCOUNTS_STREAM,
        producer: Service::Auth,
        event_types: &["ates.auth.events.v1.AccountsSnapshot"],
    },
    SnapshotStream {
        name: TASKS_STREAM,
        producer: Service::Tracker,
        event_types: &[
            "ates.tracker.events.v1.TasksSnapshot",
            "ates.tracker.events.v2.TasksSnapshot",
        ],
    },
    SnapshotStream {
        name: BILLS_STREAM,
        producer: Service::Accounting,
        event_types: &["ates.accounting.events.v1.BillsSnapshot"],
    },
    SnapshotStream {
        name: AUDIT_LOG_STREAM,
        producer: Service::Accounting,
        event_types: &["ates.accounting.events.v1.AuditLogSnapshot"],
    },
];

/// The names of the snapshot streams `service` sends.
pub fn snapshot_streams_of(service: Service) -> Vec<&'static str> {
    SNAPSHOT_STREAMS
        .iter()
        .filter(|stream| stream.producer == service)
        .map(|stream| stream.name)
        .collect()
}

/// The route of an event type, or `None` when aTES has no such event.
pub fn route_of(event_type: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.event_type == event_type)
}

/// The exchanges a service publishes to.
pub fn exchanges_produced_by(service: Service) -> Vec<&'static str> {
    let mut exchanges: Vec<_> = ROUTES
        .iter()
        .filter(|route| route.producer == service)
        .map(|route| route.exchange)
        .collect();
    exchanges.sort_unstable();
    exchanges.dedup();
    exchanges
}

/// One consuming service's queue on one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The consuming service.
    pub consumer: Service,
    /// The exchange the queue is bound to.
    pub exchange: &'static str,
    /// The event types (routing keys) the queue is bound to.
    pub event_types: Vec<&'static str>,
}

impl Subscription {
    /// The queue's name, before any deployment prefix: `<consumer>.<exchange>`.
    pub fn queue(&self) -> String {
        format!("{}.{}", self.consumer.name(), self.exchange)
    }
}

/// Every queue in aTES, one per consuming service and exchange.
pub fn subscriptions() -> Vec<Subscription> {
    let mut subscriptions: Vec<Subscription> = Vec::new();
    for route in ROUTES {
        for &consumer in route.consumers {
            match subscriptions
                .iter_mut()
                .find(|s| s.consumer == consumer && s.exchange == route.exchange)
            {
                Some(subscription) => subscription.event_types.push(route.event_type),
                None => subscriptions.push(Subscription {
                    consumer,
                    exchange: route.exchange,
                    event_types: vec![route.event_type],
                }),
            }
        }
    }
    subscriptions
}

/// The queues a service consumes from.
pub fn subscriptions_of(service: Service) -> Vec<Subscription> {
    subscriptions()
        .into_iter()
        .filter(|subscription| subscription.consumer == service)
        .collect()
}

/// The queues bound to the exchanges a service publishes to (declared by the producer too, so
/// that no event is unroutable while a consumer has not started yet).
pub fn subscriptions_fed_by(service: Service) -> Vec<Subscription> {
    let exchanges = exchanges_produced_by(service);
    subscriptions()
        .into_iter()
        .filter(|subscription| exchanges.contains(&subscription.exchange))
        .collect()
}

/// The routing table as Markdown: `proto/EVENTS.md` is this text, checked by a test.
pub fn render_markdown() -> String {
    let mut text = String::from(
        "# aTES events and their routing\n\n\
         Generated from `libs/contracts/src/routing.rs` (the one place routing is written down); a test\n\
         fails when this file is stale. Regenerate with `ATES_BLESS=1 cargo test -p ates-contracts`.\n\n\
         Every message body is an `ates.events.v1.EventEnvelope` (see `ates/events/v1/envelope.proto`)\n\
         whose `payload` is the event below. Exchanges are durable topic exchanges; the routing key is\n\
         the event's fully qualified type, so a new schema version is a new key. Each consuming service\n\
         has one durable quorum queue per exchange, named `<service>.<exchange>`, with a dead-letter\n\
         queue `<queue>.dead-letter` behind the `ates.dead-letter` exchange.\n\n\
         | event (routing key) | exchange | producer | consumers |\n\
         |---|---|---|---|\n",
    );
    for route in ROUTES {
        let consumers: Vec<&str> = route
            .consumers
            .iter()
            .map(|service| service.binary_name())
            .collect();
        text.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            route.event_type,
            route.exchange,
            route.producer.binary_name(),
            consumers.join(", ")
        ));
    }
    text.push_str("\n## Queues\n\n| queue | bound to |\n|---|---|\n");
    for subscription in subscriptions() {
        let keys: Vec<String> = subscription
            .event_types
            .iter()
            .map(|key| format!("`{key}`"))
            .collect();
        text.push_str(&format!(
            "| `{}` | {} |\n",
            subscription.queue(),
            keys.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn every_route_names_a_generated_event_message() {
        let descriptor_set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut messages = Vec::new();
        for file in &descriptor_set.file {
            for message in &file.message_type {
                messages.push(format!("{}.{}", file.package(), message.name()));
            }
        }
        for route in ROUTES {
            assert!(
                messages.contains(&route.event_type.to_owned()),
                "{} is not in proto/",
                route.event_type
            );
            let producer_package = format!("ates.{}.events.", route.producer.name());
            assert!(
                route.event_type.starts_with(&producer_package),
                "{} is not in its producer's package",
                route.event_type
            );
            assert!(
                route
                    .exchange
                    .starts_with(&format!("ates.{}.", route.producer.name()))
            );
            assert!(!route.consumers.is_empty());
        }
    }

    #[test]
    fn every_event_message_in_proto_has_a_route() {
        let descriptor_set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        for file in descriptor_set.file.iter().filter(|file| {
            file.package().contains(".events.") && !file.package().starts_with("ates.events.")
        }) {
            for message in &file.message_type {
                let name = format!("{}.{}", file.package(), message.name());
                // Assignment is a part of two events, not an event of its own.
                if name.ends_with(".Assignment") {
                    continue;
                }
                assert!(route_of(&name).is_some(), "{name} has no route");
            }
        }
    }

    #[test]
    fn every_snapshot_stream_is_routed_from_its_producer_to_whoever_asks_for_resyncs() {
        let resync = route_of("ates.analytics.events.v1.ResyncRequested").expect("routed");
        for stream in SNAPSHOT_STREAMS {
            assert!(!stream.event_types.is_empty(), "{}", stream.name);
            for &event_type in stream.event_types {
                let route = route_of(event_type).expect("snapshot events are routed");
                assert_eq!(route.producer, stream.producer, "{}", stream.name);
                assert!(
                    route.consumers.contains(&resync.producer),
                    "{event_type} of {} does not reach the service that asks for resyncs",
                    stream.name
                );
            }
            assert!(
                resync.consumers.contains(&stream.producer),
                "{} sends {} but never hears a resync request",
                stream.producer.binary_name(),
                stream.name
            );
        }
        for &consumer in resync.consumers {
            assert!(
                !snapshot_streams_of(consumer).is_empty(),
                "{} hears resync requests and sends nothing",
                consumer.binary_name()
            );
        }
    }

    #[test]
    fn emails_reach_payouts_alone() {
        let route = route_of("ates.auth.events.v1.AccountEmailSet").expect("route");
        assert_eq!(route.consumers, &[Service::Payouts]);
        for subscription in subscriptions() {
            if subscription.consumer != Service::Payouts {
                assert!(!subscription.event_types.contains(&route.event_type));
            }
        }
    }

    #[test]
    fn events_md_shows_the_routing_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/EVENTS.md");
        let rendered = render_markdown();
        if std::env::var_os("ATES_BLESS").is_some() {
            std::fs::write(&path, &rendered).expect("write proto/EVENTS.md");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "proto/EVENTS.md is stale; regenerate it with ATES_BLESS=1 cargo test -p ates-contracts"
        );
    }

    #[test]
    fn one_queue_per_consumer_and_exchange() {
        let queues: Vec<String> = subscriptions().iter().map(Subscription::queue).collect();
        let mut unique = queues.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(queues.len(), unique.len());
        assert!(queues.contains(&"accounting.ates.tracker.task-lifecycle".to_owned()));
    }
}
