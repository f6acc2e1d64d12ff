//! Bad input at every method of all six running services: requests generated from the
//! descriptors (every field of every request message, nested ones too), with random and
//! boundary values, sent with an admin's token, a worker's and none. No answer may be INTERNAL,
//! UNKNOWN or DATA_LOSS, no process may die, and every INVALID_ARGUMENT names a field of the
//! request. The count of calls per service and status is printed.

#![allow(clippy::unwrap_used)]

mod system;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ates_contracts::ates::tracker::v1 as tracker;
use ates_testkit::{HealthStatus, SmtpSink};
use bytes::{Buf, BufMut};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use system::{ADMIN_BEAK, Process, System, signed};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Requests generated per method.
const CALLS_PER_METHOD: usize = 120;
/// How deep generated messages nest.
const MAX_DEPTH: usize = 3;

/// A codec of encoded protobuf messages as bytes: the fuzz builds requests from descriptors and
/// only needs an answer's status.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buffer: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buffer.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(buffer.copy_to_bytes(buffer.remaining()).to_vec()))
    }
}

/// Values the generator draws from: ids that exist, so that calls get past "not found".
struct Known {
    ids: Vec<String>,
}

fn random_text(rng: &mut StdRng, length: usize) -> String {
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', '9', '-', '_', ' ', '[', ']', ':', '@', '.', '/', '\\', '%', '\'', '"',
        '\n', '\t', '\u{0}', 'é', 'ß', '🐦', '\u{202e}', '\u{feff}',
    ];
    (0..length)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn string_value(rng: &mut StdRng, field: &FieldDescriptor, known: &Known) -> String {
    let today = chrono::Utc::now().date_naive();
    match rng.random_range(0..24) {
        0 => String::new(),
        1 => " ".to_owned(),
        2 => "a".to_owned(),
        3 | 4 => uuid::Uuid::new_v4().to_string(),
        5..=7 => known.ids[rng.random_range(0..known.ids.len())].clone(),
        8 => "not-a-uuid".to_owned(),
        9 => today.to_string(),
        10 => (today - chrono::Duration::days(1)).to_string(),
        11 => "2026-13-45".to_owned(),
        12 => "9999-12-31".to_owned(),
        13 => "0001-01-01".to_owned(),
        14 => "2026-1-5".to_owned(),
        15 => "x".repeat(10_000),
        16 => "\u{0}".to_owned(),
        17 => "[POP-12] - a title\nand a body".to_owned(),
        18 => "POP-12".to_owned(),
        19 => format!("fuzz-{}@uberpopug.test", rng.random::<u32>()),
        20 => "@".to_owned(),
        21 => format!("{}{}", field.name(), rng.random::<u16>()),
        22 => "ZXhhbXBsZQ==".to_owned(),
        _ => {
            let length = rng.random_range(0..40);
            random_text(rng, length)
        }
    }
}

fn scalar(rng: &mut StdRng, field: &FieldDescriptor, depth: usize, known: &Known) -> Option<Value> {
    Some(match field.kind() {
        Kind::Double => {
            Value::F64([0.0, -0.0, f64::NAN, f64::INFINITY, -1.0, 1e308][rng.random_range(0..6)])
        }
        Kind::Float => Value::F32([0.0, f32::NAN, f32::NEG_INFINITY, 1.5][rng.random_range(0..4)]),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(
            [
                0,
                1,
                -1,
                2,
                100,
                1_000,
                1_001,
                i32::MAX,
                i32::MIN,
                rng.random(),
            ][rng.random_range(0..10)],
        ),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(
            [
                0,
                1,
                -1,
                1_000,
                253_402_300_800,
                i64::MAX,
                i64::MIN,
                rng.random(),
            ][rng.random_range(0..8)],
        ),
        Kind::Uint32 | Kind::Fixed32 => {
            Value::U32([0, 1, u32::MAX, rng.random()][rng.random_range(0..4)])
        }
        Kind::Uint64 | Kind::Fixed64 => {
            Value::U64([0, 1, u64::MAX, rng.random()][rng.random_range(0..4)])
        }
        Kind::Bool => Value::Bool(rng.random()),
        Kind::String => Value::String(string_value(rng, field, known)),
        Kind::Bytes => {
            let length = rng.random_range(0..64);
            Value::Bytes((0..length).map(|_| rng.random::<u8>()).collect())
        }
        Kind::Enum(descriptor) => {
            let defined: Vec<i32> = descriptor.values().map(|value| value.number()).collect();
            Value::EnumNumber(match rng.random_range(0..4) {
                0 => 0,
                1 => 99,
                2 => -1,
                _ => defined[rng.random_range(0..defined.len())],
            })
        }
        Kind::Message(descriptor) => {
            if depth >= MAX_DEPTH {
                return None;
            }
            Value::Message(message(rng, &descriptor, depth + 1, known))
        }
    })
}

/// A message with each field left unset, set to a boundary value or to a random one.
fn message(
    rng: &mut StdRng,
    descriptor: &MessageDescriptor,
    depth: usize,
    known: &Known,
) -> DynamicMessage {
    let mut generated = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        if rng.random_bool(0.3) {
            continue;
        }
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                continue;
            };
            let (key_field, value_field) =
                (entry.map_entry_key_field(), entry.map_entry_value_field());
            let mut map = std::collections::HashMap::new();
            for _ in 0..rng.random_range(0..4) {
                let (Some(key), Some(value)) = (
                    scalar(rng, &key_field, depth, known),
                    scalar(rng, &value_field, depth, known),
                ) else {
                    continue;
                };
                let key = match key {
                    Value::String(text) => MapKey::String(text),
                    Value::I32(number) => MapKey::I32(number),
                    Value::I64(number) => MapKey::I64(number),
                    Value::U32(number) => MapKey::U32(number),
                    Value::U64(number) => MapKey::U64(number),
                    Value::Bool(flag) => MapKey::Bool(flag),
                    _ => continue,
                };
                map.insert(key, value);
            }
            Value::Map(map)
        } else if field.is_list() {
            let length = [0, 1, 3, 50][rng.random_range(0..4)];
            Value::List(
                (0..length)
                    .filter_map(|_| scalar(rng, &field, depth, known))
                    .collect(),
            )
        } else {
            let Some(value) = scalar(rng, &field, depth, known) else {
                continue;
            };
            value
        };
        generated.set_field(&field, value);
    }
    generated
}

/// Every field name of `descriptor` and of the messages it holds: the names an INVALID_ARGUMENT
/// may give.
fn field_names(descriptor: &MessageDescriptor, names: &mut BTreeSet<String>) {
    for field in descriptor.fields() {
        if names.insert(field.name().to_owned())
            && let Kind::Message(inner) = field.kind()
        {
            field_names(&inner, names);
        }
    }
}

/// Whether an INVALID_ARGUMENT message names one of `names` the way every aTES service does:
/// `<field>: <what is wrong>`, the field as the proto names it (a nested one as
/// `<field>.<field>`, a repeated one's element as `<field>[<index>]`), or `request` for a rule
/// about several fields at once ("set at least one of ...").
fn names_a_field(message: &str, names: &BTreeSet<String>) -> bool {
    let Some((path, reason)) = message.split_once(": ") else {
        return false;
    };
    !reason.trim().is_empty()
        && (path == "request"
            || path.split('.').all(|part| {
                let part = part.split_once('[').map_or(part, |(name, _)| name);
                names.contains(part)
            }))
}

/// The service of a proto package.
fn endpoint_of<'a>(package: &str, endpoints: &'a BTreeMap<&str, String>) -> &'a str {
    let service = package
        .strip_prefix("ates.")
        .and_then(|rest| rest.split('.').next())
        .unwrap();
    endpoints
        .get(service)
        .unwrap_or_else(|| panic!("no running service for {package}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_bad_input_at_every_method_of_all_six_services_gets_a_clear_answer() {
    let seed = system::day::seed(20_261_205);
    let mut rng = StdRng::seed_from_u64(seed);
    let system = System::start().await;
    let analytics = system.start_analytics().await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system.start_payouts_alone(&smtp.url(), &[]).await;
    let bff = system.start_bff().await;
    let endpoints: BTreeMap<&str, String> = [
        ("auth", system.auth.endpoint.clone()),
        ("tracker", system.tracker.endpoint.clone()),
        ("accounting", system.accounting.endpoint.clone()),
        ("payouts", payouts.endpoint.clone()),
        ("analytics", analytics.endpoint.clone()),
        ("bff", bff.endpoint.clone()),
    ]
    .into_iter()
    .collect();

    // Some data to aim at: a worker, a task assigned to it, a done one.
    let (worker_id, worker) = system.new_worker("fuzz-worker@uberpopug.test").await;
    // (Not the admin's id: a generated ChangeAccountRole would demote the caller of the rest.)
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let open = system
        .create_task_once_assignable(&admin, "an open task")
        .await;
    let done = system
        .create_task_once_assignable(&admin, "a done task")
        .await;
    system
        .tracker()
        .await
        .complete_task(signed(
            tracker::CompleteTaskRequest {
                task_id: done.task_id.clone(),
                request_id: uuid::Uuid::new_v4().to_string(),
            },
            &worker,
        ))
        .await
        .unwrap();
    let known = Known {
        ids: vec![worker_id, open.task_id, done.task_id],
    };

    let pool = DescriptorPool::decode(ates_contracts::FILE_DESCRIPTOR_SET).unwrap();
    let mut tally: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut calls = 0;
    let mut methods = 0;
    // Per method, the calls that got past the token and role checks to the handler.
    let mut handled: BTreeMap<String, usize> = BTreeMap::new();
    for service in pool.services() {
        let endpoint = endpoint_of(service.package_name(), &endpoints);
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .unwrap()
            .connect()
            .await
            .unwrap();
        for method in service.methods() {
            methods += 1;
            handled.insert(method.full_name().to_owned(), 0);
            let input = method.input();
            let mut names = BTreeSet::new();
            field_names(&input, &mut names);
            let path: http::uri::PathAndQuery =
                format!("/{}/{}", service.full_name(), method.name())
                    .parse()
                    .unwrap();
            for index in 0..CALLS_PER_METHOD {
                // The first call of each method is the empty request: every field at its default.
                let request = if index == 0 {
                    DynamicMessage::new(input.clone())
                } else {
                    message(&mut rng, &input, 0, &known)
                };
                let body = prost::Message::encode_to_vec(&request);
                let mut call = tonic::Request::new(body);
                match index % 3 {
                    0 => call = signed(call.into_inner(), &admin),
                    1 => call = signed(call.into_inner(), &worker),
                    _ => {}
                }
                call.set_timeout(Duration::from_secs(10));
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.unwrap();
                let answer = grpc.unary(call, path.clone(), Raw).await;
                calls += 1;
                let code = match &answer {
                    Ok(_) => Code::Ok,
                    Err(status) => status.code(),
                };
                *tally
                    .entry((service.package_name().to_owned(), format!("{code:?}")))
                    .or_default() += 1;
                // Past the token and role checks: the handler answered.
                if matches!(
                    code,
                    Code::Ok
                        | Code::InvalidArgument
                        | Code::NotFound
                        | Code::FailedPrecondition
                        | Code::AlreadyExists
                        | Code::OutOfRange
                ) {
                    *handled.get_mut(method.full_name()).unwrap() += 1;
                }
                if let Err(status) = answer {
                    let shown = format!("{request:?}");
                    let shown: String = shown.chars().take(400).collect();
                    match status.code() {
                        Code::Internal | Code::Unknown | Code::DataLoss => failures.push(format!(
                            "{}: {:?} {:?} for {shown}",
                            method.full_name(),
                            status.code(),
                            status.message()
                        )),
                        // A call that timed out or found no server (a handler hung or a process
                        // died), or a method the server lacks.
                        Code::DeadlineExceeded
                        | Code::Unavailable
                        | Code::Cancelled
                        | Code::Unimplemented => failures.push(format!(
                            "{}: {:?} {:?} for {shown}",
                            method.full_name(),
                            status.code(),
                            status.message()
                        )),
                        Code::InvalidArgument if !names_a_field(status.message(), &names) => {
                            failures.push(format!(
                                "{}: INVALID_ARGUMENT naming no field ({:?}) for {shown}",
                                method.full_name(),
                                status.message()
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    eprintln!(
        "seed {seed}: {calls} calls at {methods} methods of six services, {} past the token and \
         role checks",
        handled.values().sum::<usize>()
    );
    eprintln!("{:<16} {:<20} {:>6}", "package", "status", "calls");
    for ((package, code), count) in &tally {
        eprintln!("{package:<16} {code:<20} {count:>6}");
    }
    // Every process still runs and serves.
    let processes: [&Process; 6] = [
        &system.auth,
        &system.tracker,
        &system.accounting,
        &payouts,
        &analytics,
        &bff,
    ];
    for process in processes {
        assert!(
            process.wait_exited(Duration::ZERO).await.is_none(),
            "seed {seed}: {} died under the fuzz",
            process.name
        );
        assert_eq!(
            ates_testkit::health_status(&process.endpoint, "").await,
            HealthStatus::Serving,
            "seed {seed}: {} no longer serves",
            process.name
        );
    }
    assert!(methods >= 30, "seed {seed}: only {methods} methods");
    let unhandled: Vec<&String> = handled
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(method, _)| method)
        .collect();
    assert!(
        unhandled.is_empty(),
        "seed {seed}: no call reached the handler of {unhandled:?}: the fuzz tested only the \
         token and role checks there"
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: {} answers were not clear:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
