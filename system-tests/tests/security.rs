//! Every method of every running service, found through the service's own reflection, called
//! without a token, with an expired one, with one signed by a key auth never had, and with each
//! role the method does not allow: each refused with the right status. A method the table below
//! does not know fails the test, so a new method cannot ship without its access rule. Health and
//! reflection answer every service without a token. A body that is not protobuf is the caller's
//! mistake on every method: INVALID_ARGUMENT, never INTERNAL.

#![allow(clippy::unwrap_used)]

mod system;

use std::collections::BTreeMap;
use std::time::Duration;

use ates_contracts::ates::auth::v1 as auth;
use ates_testkit::{HealthStatus, TestDatabase, health_status};
use ates_token::{Role, SigningKey, TokenIssuer};
use http::uri::PathAndQuery;
use prost::Message as _;
use system::{ADMIN_BEAK, Process, System, signed, start_process};
use tonic::Code;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// Who may call a method, as DOMAIN.md and the proto comments say.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// No token needed.
    Public,
    /// Any signed-in account (finer, per-record rules are the service tests' business).
    AnyRole,
    /// Only these roles.
    Roles(&'static [Role]),
}

const ADMIN: Access = Access::Roles(&[Role::Admin]);
const MANAGEMENT: Access = Access::Roles(&[Role::Admin, Role::Manager]);
const BOOKKEEPING: Access = Access::Roles(&[Role::Admin, Role::Accountant]);

/// Every aTES method and its access rule.
const ACCESS: &[(&str, Access)] = &[
    ("/ates.auth.v1.AuthService/SignIn", Access::Public),
    ("/ates.auth.v1.AuthService/GetPublicKeys", Access::Public),
    ("/ates.auth.v1.AuthService/WhoAmI", Access::AnyRole),
    ("/ates.auth.v1.AuthService/CreateAccount", ADMIN),
    ("/ates.auth.v1.AuthService/GetAccount", ADMIN),
    ("/ates.auth.v1.AuthService/ListAccounts", ADMIN),
    ("/ates.auth.v1.AuthService/ChangeAccountRole", ADMIN),
    ("/ates.auth.v1.AuthService/ChangeAccountEmail", ADMIN),
    ("/ates.auth.v1.AuthService/ReissueBeak", ADMIN),
    ("/ates.auth.v1.AuthService/RotateSigningKey", ADMIN),
    (
        "/ates.tracker.v1.TrackerService/CreateTask",
        Access::AnyRole,
    ),
    (
        "/ates.tracker.v1.TrackerService/ReassignOpenTasks",
        MANAGEMENT,
    ),
    (
        "/ates.tracker.v1.TrackerService/CompleteTask",
        Access::AnyRole,
    ),
    (
        "/ates.tracker.v1.TrackerService/UpdateTaskDescription",
        Access::AnyRole,
    ),
    (
        "/ates.tracker.v1.TrackerService/UpdateTaskDetails",
        Access::AnyRole,
    ),
    ("/ates.tracker.v1.TrackerService/GetTask", Access::AnyRole),
    (
        "/ates.tracker.v1.TrackerService/ListMyTasks",
        Access::AnyRole,
    ),
    ("/ates.tracker.v1.TrackerService/ListTasks", MANAGEMENT),
    (
        "/ates.accounting.v1.AccountingService/GetStatement",
        Access::AnyRole,
    ),
    (
        "/ates.accounting.v1.AccountingService/GetManagementEarnings",
        BOOKKEEPING,
    ),
    (
        "/ates.accounting.v1.AccountingService/GetTodayManagementEarnings",
        BOOKKEEPING,
    ),
    (
        "/ates.accounting.v1.AccountingService/ListBalances",
        BOOKKEEPING,
    ),
    ("/ates.payouts.v1.PayoutsService/CloseBusinessDay", ADMIN),
    ("/ates.payouts.v1.PayoutsService/ListPayouts", BOOKKEEPING),
    (
        "/ates.bff.v1.AccountingDashboardService/GetMyDashboard",
        Access::AnyRole,
    ),
    (
        "/ates.bff.v1.AccountingDashboardService/GetAccountStatement",
        BOOKKEEPING,
    ),
    (
        "/ates.bff.v1.AccountingDashboardService/GetManagementDashboard",
        BOOKKEEPING,
    ),
    ("/ates.analytics.v1.AnalyticsService/GetSummary", ADMIN),
    (
        "/ates.analytics.v1.AnalyticsService/GetMostExpensiveTask",
        ADMIN,
    ),
    (
        "/ates.analytics.v1.AnalyticsService/GetMostExpensiveTaskSeries",
        ADMIN,
    ),
    (
        "/ates.analytics.v1.AnalyticsService/ResyncProjections",
        ADMIN,
    ),
];

const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Accountant, Role::Worker];

/// Calls `path` with an empty request message (valid for every proto message) and `token`.
async fn call(channel: &Channel, path: &str, token: Option<&str>) -> Result<(), tonic::Status> {
    call_raw(channel, path, token, &[]).await
}

/// Request bodies no protobuf message decodes from, whatever its fields: random bytes (a tag
/// whose varint never ends), field number 0, a field whose length runs past the end, a varint
/// cut short.
const UNDECODABLE: [(&str, &[u8]); 4] = [
    (
        "random bytes",
        &[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    ),
    ("field number 0", &[0x00, 0x01]),
    (
        "a length past the end",
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41],
    ),
    ("a truncated varint", &[0x08, 0xff]),
];

/// Sends `body` as it is as the request message of `path`.
async fn call_raw(
    channel: &Channel,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<(), tonic::Status> {
    #[derive(Debug, Clone, Default)]
    struct RawCodec;
    #[derive(Debug, Clone, Default)]
    struct RawEncoder;
    impl tonic::codec::Encoder for RawEncoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(
            &mut self,
            item: Vec<u8>,
            buf: &mut tonic::codec::EncodeBuf<'_>,
        ) -> Result<(), tonic::Status> {
            bytes::BufMut::put_slice(buf, &item);
            Ok(())
        }
    }
    impl tonic::codec::Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = ();
        type Encoder = RawEncoder;
        type Decoder = tonic_prost::ProstDecoder<()>;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> Self::Decoder {
            tonic_prost::ProstDecoder::default()
        }
    }
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let request = match token {
        Some(token) => signed(body.to_vec(), token),
        None => tonic::Request::new(body.to_vec()),
    };
    grpc.unary(request, path.parse::<PathAndQuery>().unwrap(), RawCodec)
        .await
        .map(|_| ())
}

/// The gRPC services a process serves, asked through its reflection without a token.
async fn served_services(channel: &Channel) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    match response.message_response.unwrap() {
        MessageResponse::ListServicesResponse(list) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("reflection answered {other:?}"),
    }
}

/// `/<package>.<Service>/<Method>` for every method of `service` in aTES's contracts.
fn methods_of(service: &str) -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(ates_contracts::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .iter()
        .flat_map(|file| {
            file.service.iter().filter_map(move |descriptor| {
                let name = format!("{}.{}", file.package(), descriptor.name());
                (name == service).then(|| {
                    descriptor
                        .method
                        .iter()
                        .map(|method| format!("/{name}/{}", method.name()))
                        .collect::<Vec<_>>()
                })
            })
        })
        .flatten()
        .collect()
}

fn access_of(path: &str) -> Access {
    ACCESS
        .iter()
        .find(|(method, _)| *method == path)
        .map(|(_, access)| *access)
        .unwrap_or_else(|| {
            panic!("{path} has no access rule: add it to ACCESS in system-tests/tests/security.rs")
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_method_refuses_missing_expired_foreign_and_disallowed_tokens() {
    let system = System::start().await;
    // The services that do not yet serve business methods run too: their health and reflection
    // are checked, and their methods join the checks as they appear.
    let mut processes: Vec<&Process> = vec![&system.auth, &system.tracker, &system.accounting];
    let mut others = Vec::new();
    for name in ["payouts-svc", "bff-svc", "analytics-svc"] {
        let database = TestDatabase::create().await.unwrap();
        let url = database.url().to_owned();
        others.push(
            start_process(
                name,
                &url,
                Some(database),
                &system.broker,
                &system.auth.endpoint,
                &[],
            )
            .await,
        );
    }
    processes.extend(others.iter());

    // A second auth on the same database and keys, issuing one-second tokens: the expired token
    // is signed by a key every service trusts.
    let short_lived = start_process(
        "auth-svc",
        system.auth.database.as_ref().unwrap().url(),
        None,
        &system.broker,
        "http://127.0.0.1:1",
        &[("AUTH_TOKEN_LIFETIME_SECONDS", "1")],
    )
    .await;
    let expiring = auth::auth_service_client::AuthServiceClient::new(
        System::channel(&short_lived.endpoint).await,
    )
    .sign_in(auth::SignInRequest {
        beak: ADMIN_BEAK.to_owned(),
    })
    .await
    .unwrap()
    .into_inner()
    .access_token;

    // A token for each role, from the real auth.
    let (admin_id, admin) = system.sign_in(ADMIN_BEAK).await;
    let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
    tokens.insert(Role::Admin.as_str(), admin.clone());
    let mut auth_client = system.auth().await;
    for (role, api_role) in [
        (Role::Manager, auth::Role::Manager),
        (Role::Accountant, auth::Role::Accountant),
        (Role::Worker, auth::Role::Worker),
    ] {
        let created = auth_client
            .create_account(signed(
                auth::CreateAccountRequest {
                    email: format!("{}@uberpopug.test", role.as_str()),
                    role: api_role as i32,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        tokens.insert(role.as_str(), system.sign_in(&created.beak).await.1);
    }

    // A token exactly like a real admin's, under auth's real key id, signed by another key.
    let keys = auth_client
        .get_public_keys(auth::GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    let impostor_key = SigningKey::from_pkcs8_der(
        keys.keys[0].kid.clone(),
        &SigningKey::generate().to_pkcs8_der().unwrap(),
    )
    .unwrap();
    let (foreign, _) = TokenIssuer {
        issuer: keys.issuer.clone(),
        audience: keys.audience.clone(),
        lifetime: chrono::TimeDelta::minutes(15),
    }
    .issue(
        &impostor_key,
        admin_id.parse().unwrap(),
        Role::Admin,
        chrono::Utc::now(),
    )
    .unwrap();

    // Health and reflection answer every process without a token; reflection names the
    // business services each one serves.
    let mut methods: Vec<(String, Channel, String)> = Vec::new();
    for process in &processes {
        assert_eq!(
            health_status(&process.endpoint, "").await,
            HealthStatus::Serving,
            "{}: health without a token",
            process.name
        );
        let channel = System::channel(&process.endpoint).await;
        let services = served_services(&channel).await;
        assert!(
            services
                .iter()
                .any(|service| service == "grpc.health.v1.Health"),
            "{}: reflection lists {services:?}",
            process.name
        );
        // The services that serve business methods today must show them; the others may only
        // grow.
        let expected = match process.name {
            "auth-svc" => Some("ates.auth.v1.AuthService"),
            "tracker-svc" => Some("ates.tracker.v1.TrackerService"),
            "accounting-svc" => Some("ates.accounting.v1.AccountingService"),
            _ => None,
        };
        if let Some(expected) = expected {
            assert!(
                services.iter().any(|service| service == expected),
                "{}: reflection does not list {expected}: {services:?}",
                process.name
            );
        }
        for service in services
            .iter()
            .filter(|service| service.starts_with("ates."))
        {
            assert_eq!(
                health_status(&process.endpoint, service).await,
                HealthStatus::Serving,
                "{}: health of {service}",
                process.name
            );
            let service_methods = methods_of(service);
            assert!(!service_methods.is_empty(), "{service} has no methods");
            for method in service_methods {
                methods.push((process.name.to_owned(), channel.clone(), method));
            }
        }
    }
    assert!(
        methods.len() >= 21,
        "reflection showed only {} business methods",
        methods.len()
    );

    let mut failures = Vec::new();
    let mut checks = 0;
    let mut expect = |method: &str, case: &str, answer: Result<(), tonic::Status>, code: Code| {
        checks += 1;
        match answer {
            Err(status) if status.code() == code => {}
            other => failures.push(format!("{method} {case}: expected {code:?}, got {other:?}")),
        }
    };
    for (_, channel, method) in &methods {
        let access = access_of(method);
        if let Access::Public = access {
            // A public method is not refused for want of a token.
            if let Err(status) = call(channel, method, None).await {
                assert!(
                    !matches!(
                        status.code(),
                        Code::Unauthenticated | Code::PermissionDenied
                    ),
                    "{method} without a token: {status:?}"
                );
            }
            continue;
        }
        expect(
            method,
            "without a token",
            call(channel, method, None).await,
            Code::Unauthenticated,
        );
        expect(
            method,
            "with a token signed by a foreign key",
            call(channel, method, Some(&foreign)).await,
            Code::Unauthenticated,
        );
        expect(
            method,
            "with a malformed token",
            call(channel, method, Some("not.a.token")).await,
            Code::Unauthenticated,
        );
        for role in ROLES {
            let token = &tokens[role.as_str()];
            let answer = call(channel, method, Some(token)).await;
            let allowed = match access {
                Access::Roles(roles) => roles.contains(&role),
                _ => true,
            };
            if allowed {
                // Past the door: whatever the empty request earns, it is not a refusal of the
                // caller.
                if let Err(status) = &answer {
                    assert!(
                        !matches!(
                            status.code(),
                            Code::Unauthenticated | Code::PermissionDenied
                        ),
                        "{method} as {role}: {status:?}"
                    );
                }
            } else {
                expect(
                    method,
                    &format!("as {role}"),
                    answer,
                    Code::PermissionDenied,
                );
            }
        }
        // Past the door, a body that does not decode is the caller's mistake.
        let token = match access {
            Access::Public => None,
            Access::AnyRole => Some(tokens[Role::Worker.as_str()].as_str()),
            Access::Roles(roles) => Some(tokens[roles[0].as_str()].as_str()),
        };
        for (case, body) in UNDECODABLE {
            let answer = call_raw(channel, method, token, body).await;
            if let Err(status) = &answer
                && status.code() == Code::InvalidArgument
            {
                assert!(
                    status.message().contains("is not a valid ates."),
                    "{method} with {case}: {status:?}"
                );
            }
            expect(
                method,
                &format!("with {case} as its body"),
                answer,
                Code::InvalidArgument,
            );
        }
    }

    // The one-second token has expired (past the services' clock-skew leeway) once auth itself
    // refuses it; then every service must.
    let refused = ates_testkit::eventually(Duration::from_secs(30), || {
        let expiring = expiring.clone();
        let endpoint = system.auth.endpoint.clone();
        async move {
            let channel = System::channel(&endpoint).await;
            call(
                &channel,
                "/ates.auth.v1.AuthService/WhoAmI",
                Some(&expiring),
            )
            .await
            .err()
            .filter(|status| status.code() == Code::Unauthenticated)
        }
    })
    .await;
    assert!(refused.is_some(), "the one-second token never expired");
    for (_, channel, method) in &methods {
        if let Access::Public = access_of(method) {
            continue;
        }
        expect(
            method,
            "with an expired token",
            call(channel, method, Some(&expiring)).await,
            Code::Unauthenticated,
        );
    }
    eprintln!(
        "{} methods on {} processes checked: {checks} calls",
        methods.len(),
        processes.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
