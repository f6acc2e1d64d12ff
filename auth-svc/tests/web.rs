//! Browsers call auth with gRPC-web over HTTP/1.1 on its normal port, and CORS lets only the
//! configured origins' pages read the answers.

#![allow(clippy::unwrap_used)]

use ates_contracts::ates::auth::v1 as api;
use ates_testkit::auth::{ADMIN_BEAK, Auth};
use ates_testkit::{grpc_web_call, preflight};

/// The origin `ates_testkit::service_config` allows: the local web app's.
const ALLOWED: &str = "http://127.0.0.1:50055";

#[tokio::test(flavor = "multi_thread")]
async fn a_page_from_an_allowed_origin_signs_in_over_grpc_web_and_reads_status_headers() {
    let auth = Auth::start().await;
    let signed_in = grpc_web_call(
        auth.address,
        "/ates.auth.v1.AuthService/SignIn",
        &api::SignInRequest {
            beak: ADMIN_BEAK.to_owned(),
        },
        &[("origin", ALLOWED)],
    )
    .await
    .unwrap();
    assert_eq!(signed_in.http_status, 200);
    assert_eq!(signed_in.grpc_status, Some(0), "{}", signed_in.grpc_message);
    assert_eq!(
        signed_in.headers["access-control-allow-origin"], ALLOWED,
        "the page may read the answer"
    );
    let exposed = signed_in.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for header in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(
            exposed.contains(header),
            "{header} is not exposed: {exposed}"
        );
    }
    let token = signed_in
        .decode::<api::SignInResponse>()
        .unwrap()
        .access_token;

    let who = grpc_web_call(
        auth.address,
        "/ates.auth.v1.AuthService/WhoAmI",
        &api::WhoAmIRequest {},
        &[
            ("origin", ALLOWED),
            ("authorization", &format!("Bearer {token}")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(who.grpc_status, Some(0), "{}", who.grpc_message);
    assert_eq!(
        who.decode::<api::WhoAmIResponse>()
            .unwrap()
            .account
            .unwrap()
            .role,
        api::Role::Admin as i32
    );

    // A refusal arrives as a gRPC status the page can read, not as an opaque HTTP error.
    let refused = grpc_web_call(
        auth.address,
        "/ates.auth.v1.AuthService/WhoAmI",
        &api::WhoAmIRequest {},
        &[("origin", ALLOWED)],
    )
    .await
    .unwrap();
    assert_eq!(refused.http_status, 200);
    assert_eq!(
        refused.grpc_status,
        Some(tonic::Code::Unauthenticated as i32)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_configured_origins_pass_the_cors_preflight() {
    let auth = Auth::start().await;
    let allowed = preflight(auth.address, "/ates.auth.v1.AuthService/SignIn", ALLOWED)
        .await
        .unwrap();
    assert!(allowed.status().is_success(), "{:?}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["authorization", "content-type", "x-grpc-web"] {
        assert!(headers.contains(header), "{header} not allowed: {headers}");
    }
    assert!(
        !allowed
            .headers()
            .contains_key("access-control-allow-credentials"),
        "no credentials: the token travels in a header"
    );

    for foreign in ["http://evil.example", "http://127.0.0.1:50056", "null"] {
        let refused = preflight(auth.address, "/ates.auth.v1.AuthService/SignIn", foreign)
            .await
            .unwrap();
        assert!(
            !refused
                .headers()
                .contains_key("access-control-allow-origin"),
            "{foreign} was allowed"
        );
        let call = grpc_web_call(
            auth.address,
            "/ates.auth.v1.AuthService/SignIn",
            &api::SignInRequest {
                beak: ADMIN_BEAK.to_owned(),
            },
            &[("origin", foreign)],
        )
        .await
        .unwrap();
        assert!(
            !call.headers.contains_key("access-control-allow-origin"),
            "the page from {foreign} may not read the answer"
        );
    }
}
