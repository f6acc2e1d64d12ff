//! A grpcurl-style client that knows no proto files (buf curl, from npm) lists a running
//! service through reflection and calls a method with JSON.

#![allow(clippy::unwrap_used)]

mod system;

use std::path::PathBuf;

fn buf() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/node_modules/.bin/buf");
    assert!(
        path.exists(),
        "buf is missing: run `make tools` (make test does)"
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn buf_curl_lists_a_service_through_reflection_and_calls_it_with_json() {
    let system = system::System::start().await;
    let listed = tokio::process::Command::new(buf())
        .args([
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--list-methods",
            &system.auth.endpoint,
        ])
        .output()
        .await
        .unwrap();
    let methods = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    for method in [
        "ates.auth.v1.AuthService/SignIn",
        "ates.auth.v1.AuthService/CreateAccount",
        "grpc.health.v1.Health/Check",
    ] {
        assert!(
            methods.lines().any(|line| line == method),
            "{method} not listed:\n{methods}"
        );
    }

    let called = tokio::process::Command::new(buf())
        .args([
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "-d",
            &format!(r#"{{"beak": "{}"}}"#, system::ADMIN_BEAK),
            &format!("{}/ates.auth.v1.AuthService/SignIn", system.auth.endpoint),
        ])
        .output()
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&called.stdout);
    assert!(
        called.status.success(),
        "{}",
        String::from_utf8_lossy(&called.stderr)
    );
    assert!(answer.contains("\"accessToken\""), "{answer}");
    assert!(answer.contains(system::ADMIN_EMAIL), "{answer}");

    // The tracker lists its service the same way.
    let listed = tokio::process::Command::new(buf())
        .args([
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--list-methods",
            &system.tracker.endpoint,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .contains("ates.tracker.v1.TrackerService/CreateTask")
    );
}
