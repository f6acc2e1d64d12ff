//! auth-svc over real gRPC, with real PostgreSQL and RabbitMQ.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use ates_contracts::ates::auth::events::v1 as events;
use ates_contracts::ates::auth::v1 as api;
use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing::{self, Service};
use ates_testkit::auth::{ADMIN_BEAK, ADMIN_EMAIL, Auth, AuthConfig, MAX_FAILURES, auth_config};
use ates_testkit::signed;
use ates_token::{AuthKeySource, Role, Verifier, VerifierConfig};
use auth_svc::domain::TrustedProxies;
use lapin::options::BasicGetOptions;
use prost::Message as _;
use tonic::Code;

/// What tracker, BFF or analytics do: verify with auth's public keys fetched over gRPC.
fn verifier_of(auth: &Auth) -> Verifier {
    Verifier::new(
        Arc::new(AuthKeySource::new(&auth.endpoint()).unwrap()),
        VerifierConfig::default(),
    )
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_creates_a_worker_who_signs_in_and_another_service_accepts_its_token() {
    let auth = Auth::start().await;
    let (worker, beak) = auth
        .create("Worker@UberPopug.test", api::Role::Worker)
        .await;
    assert_eq!(worker.email, "worker@uberpopug.test");
    assert!(beak.len() >= 43, "a beak carries at least 256 bits");

    let signed_in = auth.sign_in(&beak).await;
    assert_eq!(signed_in.account.unwrap().account_id, worker.account_id);
    let claims = verifier_of(&auth)
        .verify(&signed_in.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub.to_string(), worker.account_id);
    assert_eq!(claims.role, Role::Worker);
    assert_eq!(claims.iss, "ates-auth");
    assert_eq!(claims.aud, "ates");
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.nbf, claims.iat);

    let me = auth
        .client()
        .await
        .who_am_i(signed(api::WhoAmIRequest {}, &signed_in.access_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.account.unwrap().account_id, worker.account_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_managers_and_accountants_cannot_call_admin_methods_and_unsigned_calls_are_unauthenticated()
 {
    let auth = Auth::start().await;
    let (victim, _) = auth
        .create("victim@uberpopug.test", api::Role::Worker)
        .await;
    for (email, role) in [
        ("worker@uberpopug.test", api::Role::Worker),
        ("manager@uberpopug.test", api::Role::Manager),
        ("accountant@uberpopug.test", api::Role::Accountant),
    ] {
        let (_, beak) = auth.create(email, role).await;
        let token = auth.sign_in(&beak).await.access_token;
        let mut client = auth.client().await;
        let codes = [
            client
                .create_account(signed(
                    api::CreateAccountRequest {
                        email: "x@uberpopug.test".into(),
                        role: 4,
                    },
                    &token,
                ))
                .await
                .unwrap_err()
                .code(),
            client
                .list_accounts(signed(api::ListAccountsRequest::default(), &token))
                .await
                .unwrap_err()
                .code(),
            client
                .get_account(signed(
                    api::GetAccountRequest {
                        account_id: victim.account_id.clone(),
                    },
                    &token,
                ))
                .await
                .unwrap_err()
                .code(),
            client
                .change_account_role(signed(
                    api::ChangeAccountRoleRequest {
                        account_id: victim.account_id.clone(),
                        role: 1,
                    },
                    &token,
                ))
                .await
                .unwrap_err()
                .code(),
            client
                .change_account_email(signed(
                    api::ChangeAccountEmailRequest {
                        account_id: victim.account_id.clone(),
                        email: "v@u.test".into(),
                    },
                    &token,
                ))
                .await
                .unwrap_err()
                .code(),
            client
                .reissue_beak(signed(
                    api::ReissueBeakRequest {
                        account_id: victim.account_id.clone(),
                    },
                    &token,
                ))
                .await
                .unwrap_err()
                .code(),
            client
                .rotate_signing_key(signed(api::RotateSigningKeyRequest {}, &token))
                .await
                .unwrap_err()
                .code(),
        ];
        assert!(
            codes.iter().all(|code| *code == Code::PermissionDenied),
            "{role:?}: {codes:?}"
        );
    }
    let mut client = auth.client().await;
    let unsigned = client
        .list_accounts(api::ListAccountsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unsigned.code(), Code::Unauthenticated);
    let unsigned = client.who_am_i(api::WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(unsigned.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_key_rotation_old_tokens_still_verify_and_new_tokens_use_the_new_key() {
    let auth = Auth::start().await;
    let admin = auth.admin_token().await;
    let before = auth.sign_in(ADMIN_BEAK).await.access_token;
    let rotated = auth
        .client()
        .await
        .rotate_signing_key(signed(api::RotateSigningKeyRequest {}, &admin))
        .await
        .unwrap()
        .into_inner();
    let after = auth.sign_in(ADMIN_BEAK).await.access_token;
    assert_ne!(kid_of(&before), kid_of(&after));
    assert_eq!(kid_of(&after), rotated.kid);

    // A verifier that cached the old keys learns the new one on the unknown kid.
    let verifier = verifier_of(&auth);
    verifier.verify(&before).await.unwrap();
    verifier.verify(&after).await.unwrap();

    // The old key is published until every token it signed has expired, then drops out.
    let keys = auth
        .client()
        .await
        .get_public_keys(api::GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    let old = keys
        .keys
        .iter()
        .find(|key| key.kid == kid_of(&before))
        .expect("the old key is still published");
    let retires_at = old.retires_at.unwrap().seconds;
    let expires_at = jsonwebtoken::dangerous::insecure_decode::<ates_token::Claims>(&before)
        .unwrap()
        .claims
        .exp;
    assert!(
        retires_at >= expires_at,
        "the old key retires at {retires_at}, after its last token expires at {expires_at}"
    );
    let new = keys.keys.iter().find(|key| key.kid == rotated.kid).unwrap();
    assert!(new.retires_at.is_none());
    assert_eq!(keys.keys[0].kid, rotated.kid, "newest first");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retired_key_drops_out_once_every_token_it_signed_has_expired() {
    let auth = Auth::start_configured(AuthConfig {
        token_lifetime: Duration::from_secs(1),
        key_retirement_leeway: Duration::ZERO,
        ..auth_config()
    })
    .await;
    let admin = auth.admin_token().await;
    let old_kid = kid_of(&admin);
    auth.client()
        .await
        .rotate_signing_key(signed(api::RotateSigningKeyRequest {}, &admin))
        .await
        .unwrap();
    let published = |keys: api::GetPublicKeysResponse| {
        keys.keys.into_iter().map(|key| key.kid).collect::<Vec<_>>()
    };
    let keys = auth
        .client()
        .await
        .get_public_keys(api::GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        published(keys).contains(&old_kid),
        "the old key verifies while its tokens live"
    );

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let keys = auth
        .client()
        .await
        .get_public_keys(api::GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    let kids = published(keys);
    assert!(
        !kids.contains(&old_kid),
        "the old key is gone once its last token expired: {kids:?}"
    );
    assert_eq!(kids.len(), 1);
    assert_eq!(
        verifier_of(&auth).verify(&admin).await.unwrap_err(),
        ates_token::TokenError::UnknownKey
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_issued_tokens_valid_and_does_not_duplicate_the_bootstrap_admin() {
    let auth = Auth::start().await;
    let token = auth.admin_token().await;
    let (database, broker) = auth.stop().await;

    let auth = Auth::start_on(database, broker).await;
    verifier_of(&auth).verify(&token).await.unwrap();
    let accounts = auth
        .client()
        .await
        .list_accounts(signed(api::ListAccountsRequest::default(), &token))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    let admins: Vec<_> = accounts
        .iter()
        .filter(|account| account.role == api::Role::Admin as i32)
        .collect();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].email, ADMIN_EMAIL);
}

/// Reads every message now in a queue (without acking them to anyone else).
async fn drain(auth: &Auth, consumer: Service) -> Vec<(String, Vec<u8>)> {
    let connection = auth.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let subscription = routing::subscriptions_of(consumer)
        .into_iter()
        .find(|subscription| subscription.exchange == routing::AUTH_ACCOUNTS)
        .unwrap();
    let queue = ates_messaging::Topology::new(auth.broker.prefix()).queue(&subscription);
    let mut messages = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.clone().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let envelope = EventEnvelope::decode(message.delivery.data.as_slice()).unwrap();
        messages.push((envelope.event_type, message.delivery.data.clone()));
    }
    messages
}

#[tokio::test(flavor = "multi_thread")]
async fn account_changes_publish_exactly_their_events_and_emails_reach_payouts_alone() {
    let auth = Auth::start().await;
    let admin = auth.admin_token().await;
    let (worker, _) = auth.create("popug@uberpopug.test", api::Role::Worker).await;
    let mut client = auth.client().await;
    client
        .change_account_role(signed(
            api::ChangeAccountRoleRequest {
                account_id: worker.account_id.clone(),
                role: api::Role::Manager as i32,
            },
            &admin,
        ))
        .await
        .unwrap();
    // The same role again is no change and emits nothing.
    client
        .change_account_role(signed(
            api::ChangeAccountRoleRequest {
                account_id: worker.account_id.clone(),
                role: api::Role::Manager as i32,
            },
            &admin,
        ))
        .await
        .unwrap();
    client
        .change_account_email(signed(
            api::ChangeAccountEmailRequest {
                account_id: worker.account_id.clone(),
                email: "renamed@uberpopug.test".into(),
            },
            &admin,
        ))
        .await
        .unwrap();

    let created = "ates.auth.events.v1.AccountCreated";
    let role_changed = "ates.auth.events.v1.AccountRoleChanged";
    let email_set = "ates.auth.events.v1.AccountEmailSet";
    // Bootstrap admin + worker created, one role change, three emails (admin, worker, rename).
    let expected_payouts = 6;
    let mut payouts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while payouts.len() < expected_payouts && tokio::time::Instant::now() < deadline {
        payouts.extend(drain(&auth, Service::Payouts).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(payouts.len(), expected_payouts, "payouts got {payouts:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    payouts.extend(drain(&auth, Service::Payouts).await);
    let mut payout_types: Vec<&str> = payouts
        .iter()
        .map(|(event_type, _)| event_type.as_str())
        .collect();
    payout_types.sort_unstable();
    assert_eq!(
        payout_types,
        [
            created,
            created,
            email_set,
            email_set,
            email_set,
            role_changed
        ]
    );

    for consumer in [Service::Tracker, Service::Analytics] {
        let messages = drain(&auth, consumer).await;
        let mut types: Vec<&str> = messages
            .iter()
            .map(|(event_type, _)| event_type.as_str())
            .collect();
        types.sort_unstable();
        assert_eq!(types, [created, created, role_changed], "{consumer:?}");
        for (_, body) in &messages {
            let text = String::from_utf8_lossy(body);
            assert!(
                !text.contains("uberpopug.test"),
                "{consumer:?} received an email: {text}"
            );
        }
    }

    let role_change = payouts
        .iter()
        .find(|(event_type, _)| event_type == role_changed)
        .unwrap();
    let envelope = EventEnvelope::decode(role_change.1.as_slice()).unwrap();
    let event = events::AccountRoleChanged::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(event.account_id, worker.account_id);
    assert_eq!(event.role, events::AccountRole::Manager as i32);
    assert_eq!(event.revision, 2);
    assert_eq!(envelope.producer, "auth-svc");
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget_and_nobody_else_can_pick_one()
 {
    let auth = Auth::start_configured(AuthConfig {
        trusted_proxies: TrustedProxies::parse("127.0.0.4/32").unwrap(),
        ..auth_config()
    })
    .await;
    let (_, beak) = auth
        .create("target@uberpopug.test", api::Role::Worker)
        .await;
    let sign_in_with = |beak: &str, headers: &[(&'static str, &str)]| {
        let mut request = tonic::Request::new(api::SignInRequest {
            beak: beak.to_owned(),
        });
        for (header, value) in headers {
            request
                .metadata_mut()
                .append(*header, value.parse().unwrap());
        }
        request
    };
    let sign_in =
        |beak: &str, header: &'static str, value: &str| sign_in_with(beak, &[(header, value)]);
    let mut proxy = auth
        .client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4))))
        .await;
    for attempt in 0..MAX_FAILURES {
        let refused = proxy
            .sign_in(sign_in(
                &format!("guess-{attempt}"),
                "x-forwarded-for",
                "6.6.6.6, 198.51.100.1",
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    }
    // The guesser is throttled even with the right beak, whatever it writes into the header
    // itself and whatever it sends in the header the proxy does not write (`Forwarded`: the
    // proxy passes it through as the client sent it).
    for headers in [
        vec![("x-forwarded-for", "198.51.100.1")],
        vec![("x-forwarded-for", "198.51.100.77, 198.51.100.1")],
        vec![
            ("forwarded", "for=203.0.113.50"),
            ("x-forwarded-for", "198.51.100.1"),
        ],
    ] {
        let throttled = proxy
            .sign_in(sign_in_with(&beak, &headers))
            .await
            .unwrap_err();
        assert_eq!(throttled.code(), Code::ResourceExhausted, "{headers:?}");
    }
    // Another client behind the same proxy signs in.
    let signed_in = proxy
        .sign_in(sign_in(&beak, "x-forwarded-for", "198.51.100.2"))
        .await
        .unwrap()
        .into_inner();
    assert!(!signed_in.access_token.is_empty());
    // An untrusted peer's header is ignored: a new forwarded address per guess buys no tries.
    let mut untrusted = auth
        .client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 5))))
        .await;
    for attempt in 0..MAX_FAILURES {
        let refused = untrusted
            .sign_in(sign_in(
                &format!("guess-{attempt}"),
                "x-forwarded-for",
                &format!("198.51.100.{}", 10 + attempt),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    }
    let throttled = untrusted
        .sign_in(sign_in(&beak, "x-forwarded-for", "198.51.100.200"))
        .await
        .unwrap_err();
    assert_eq!(throttled.code(), Code::ResourceExhausted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_wrong_beaks_is_refused_after_the_limit_while_another_client_still_signs_in() {
    let auth = Auth::start().await;
    let (_, beak) = auth
        .create("target@uberpopug.test", api::Role::Worker)
        .await;
    let mut attacker = auth
        .client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))))
        .await;
    for attempt in 0..MAX_FAILURES {
        let refused = attacker
            .sign_in(api::SignInRequest {
                beak: format!("guess-{attempt}"),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
        assert_eq!(refused.message(), "the beak is not valid");
    }
    for guess in ["one-more-guess", beak.as_str()] {
        let throttled = attacker
            .sign_in(api::SignInRequest {
                beak: guess.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            throttled.code(),
            Code::ResourceExhausted,
            "{}",
            throttled.message()
        );
    }
    let mut popug = auth
        .client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))))
        .await;
    let signed_in = popug
        .sign_in(api::SignInRequest { beak })
        .await
        .unwrap()
        .into_inner();
    assert!(!signed_in.access_token.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_get_their_own_status_naming_the_field() {
    let auth = Auth::start().await;
    let admin = auth.admin_token().await;
    let (worker, worker_beak) = auth.create("taken@uberpopug.test", api::Role::Worker).await;
    let mut client = auth.client().await;
    let create = |email: &str, role: i32| {
        signed(
            api::CreateAccountRequest {
                email: email.to_owned(),
                role,
            },
            &admin,
        )
    };

    let cases: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "empty email",
            client.create_account(create("", 4)).await.unwrap_err(),
            Code::InvalidArgument,
            "email",
        ),
        (
            "malformed email",
            client
                .create_account(create("not-an-email", 4))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "email",
        ),
        (
            "a NUL in a quoted email",
            client
                .create_account(create("\"po\0pug\"@uberpopug.test", 4))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "email",
        ),
        (
            "duplicate email",
            client
                .create_account(create(" TAKEN@uberpopug.test", 4))
                .await
                .unwrap_err(),
            Code::AlreadyExists,
            "email",
        ),
        (
            "unspecified role",
            client
                .create_account(create("new@uberpopug.test", 0))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "role",
        ),
        (
            "unknown role",
            client
                .create_account(create("new@uberpopug.test", 99))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "role",
        ),
        (
            "empty beak",
            client
                .sign_in(api::SignInRequest {
                    beak: String::new(),
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "beak",
        ),
        (
            "unknown beak",
            client
                .sign_in(api::SignInRequest {
                    beak: "nobody-has-this".into(),
                })
                .await
                .unwrap_err(),
            Code::Unauthenticated,
            "beak",
        ),
        (
            "a NUL and control characters in a beak",
            client
                .sign_in(api::SignInRequest {
                    beak: "no\0body\x1b[2J".into(),
                })
                .await
                .unwrap_err(),
            Code::Unauthenticated,
            "beak",
        ),
        (
            "a control character in a changed email",
            client
                .change_account_email(signed(
                    api::ChangeAccountEmailRequest {
                        account_id: uuid::Uuid::new_v4().to_string(),
                        email: "\"po\u{7}pug\"@uberpopug.test".into(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "email",
        ),
        (
            "malformed account id",
            client
                .get_account(signed(
                    api::GetAccountRequest {
                        account_id: "42".into(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "account_id",
        ),
        (
            "unknown account id",
            client
                .get_account(signed(
                    api::GetAccountRequest {
                        account_id: uuid::Uuid::new_v4().to_string(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::NotFound,
            "account_id",
        ),
        (
            "unknown account for a role change",
            client
                .change_account_role(signed(
                    api::ChangeAccountRoleRequest {
                        account_id: uuid::Uuid::new_v4().to_string(),
                        role: 2,
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::NotFound,
            "account_id",
        ),
        (
            "email taken by another account",
            client
                .change_account_email(signed(
                    api::ChangeAccountEmailRequest {
                        account_id: worker.account_id.clone(),
                        email: ADMIN_EMAIL.into(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::AlreadyExists,
            "email",
        ),
        (
            "bad page token",
            client
                .list_accounts(signed(
                    api::ListAccountsRequest {
                        page_size: 10,
                        page_token: "%%%".into(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "page too large",
            client
                .list_accounts(signed(
                    api::ListAccountsRequest {
                        page_size: 100_000,
                        page_token: String::new(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_size",
        ),
    ];
    ates_testkit::assert_refusals(&cases);

    // The last admin cannot be demoted.
    let me = client
        .who_am_i(signed(api::WhoAmIRequest {}, &admin))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let demoted = client
        .change_account_role(signed(
            api::ChangeAccountRoleRequest {
                account_id: me.account_id,
                role: 4,
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(demoted.code(), Code::FailedPrecondition);

    // A reissued beak replaces the old one.
    let reissued = client
        .reissue_beak(signed(
            api::ReissueBeakRequest {
                account_id: worker.account_id.clone(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        client
            .sign_in(api::SignInRequest { beak: worker_beak })
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    auth.sign_in(&reissued.beak).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_listed_a_page_at_a_time() {
    let auth = Auth::start().await;
    let admin = auth.admin_token().await;
    for index in 0..5 {
        auth.create(&format!("popug{index}@uberpopug.test"), api::Role::Worker)
            .await;
    }
    let mut client = auth.client().await;
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_accounts(signed(
                api::ListAccountsRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.accounts.len() <= 2);
        seen.extend(page.accounts.into_iter().map(|account| account.email));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], ADMIN_EMAIL);
}
