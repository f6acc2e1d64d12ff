//! The architecture invariants of ARCHITECTURE.md that code can check:
//! - no service crate depends on another service crate;
//! - no `domain/` module imports storage, transport, the runtime, or another layer of its service;
//! - every service's event handlers agree with the routing table about who consumes what.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};
use ates_testkit::TestBroker;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn service_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.ends_with("-svc"))
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn there_is_one_folder_per_service_in_the_one_shape() {
    let names: Vec<String> = service_dirs()
        .iter()
        .map(|dir| dir.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: Vec<String> = {
        let mut names: Vec<String> = Service::ALL
            .iter()
            .map(|service| service.binary_name().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names, expected);
    let shape = [
        "README.md",
        "src/main.rs",
        "src/lib.rs",
        "src/app.rs",
        "src/config.rs",
        "src/error.rs",
        "src/domain/mod.rs",
        "src/operations/mod.rs",
        "src/storage/mod.rs",
        "src/grpc/mod.rs",
        "src/events/mod.rs",
        "src/events/inbound.rs",
        "src/events/outbound.rs",
    ];
    let mut missing = Vec::new();
    for dir in service_dirs() {
        for part in shape {
            if !dir.join(part).exists() {
                missing.push(format!(
                    "{}/{part}",
                    dir.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "services out of shape: {missing:?}");
}

#[test]
fn no_service_crate_depends_on_another_service_crate() {
    let mut offending = Vec::new();
    for dir in service_dirs() {
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let name = manifest["package"]["name"].as_str().unwrap().to_owned();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(dependencies) = manifest.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for dependency in dependencies.keys() {
                if dependency.ends_with("-svc") {
                    offending.push(format!("{name} [{section}] {dependency}"));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "services depending on services: {offending:?}"
    );
}

/// Crates and modules a service's `domain/` must not use: storage, transport, the broker, the
/// runtime, the wire types, the shared process, and its own outer layers.
const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "diesel",
    "tonic",
    "lapin",
    "tokio",
    "axum",
    "ates_contracts",
    "ates_messaging",
    "ates_server",
    "ates_storage",
    "crate::storage",
    "crate::grpc",
    "crate::events",
    "crate::operations",
    "crate::app",
    "_svc::",
];

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn domain_modules_import_no_storage_transport_runtime_or_other_service() {
    let mut offending = Vec::new();
    for dir in service_dirs() {
        let mut files = Vec::new();
        rust_files(&dir.join("src/domain"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for forbidden in FORBIDDEN_IN_DOMAIN {
                    let used = code
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .any(|word| {
                            word == *forbidden
                                || word.starts_with(&format!("{forbidden}::"))
                                || (forbidden.starts_with('_') && word.contains(forbidden))
                        });
                    if used {
                        offending.push(format!(
                            "{}:{}: {forbidden}",
                            file.strip_prefix(workspace()).unwrap().display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "domain code that is not pure: {offending:?}"
    );
}

/// A service's wiring, built exactly as its binary builds it, on a free port and a database
/// that is never connected to (the pool is lazy).
async fn wiring_of(service: Service) -> Wiring {
    async fn build(spec: ServiceSpec) -> Application {
        let broker = TestBroker::shared();
        let config = ates_testkit::service_config(
            "postgres://postgres@127.0.0.1:1/never",
            &broker,
            "http://127.0.0.1:1",
        );
        Application::build(spec, config).await.unwrap()
    }
    // Exhaustive: a new service must say here how it is wired.
    match service {
        Service::Auth => {
            let application = build(auth_svc::app::spec()).await;
            auth_svc::app::wiring_with(&application, ates_testkit::auth::auth_config())
        }
        Service::Tracker => {
            let application = build(tracker_svc::app::spec()).await;
            tracker_svc::app::wiring_with(&application, Default::default())
        }
        Service::Accounting => {
            let application = build(accounting_svc::app::spec()).await;
            accounting_svc::app::wiring_with(&application, Default::default())
        }
        Service::Payouts => {
            let application = build(payouts_svc::app::spec()).await;
            payouts_svc::app::wiring_with(&application, Default::default()).unwrap()
        }
        Service::Bff => {
            let application = build(bff_svc::app::spec()).await;
            bff_svc::app::wiring_with(&application, Default::default())
        }
        Service::Analytics => {
            let application = build(analytics_svc::app::spec()).await;
            analytics_svc::app::wiring_with(&application, Default::default())
        }
    }
}

/// Services whose handlers are not written yet: they consume nothing although the routing table
/// gives them queues. This list may only shrink.
const NOT_CONSUMING_YET: &[Service] = &[Service::Analytics];

#[tokio::test]
async fn every_services_handlers_agree_with_the_routing_table() {
    let mut problems = Vec::new();
    for service in Service::ALL {
        let wiring = wiring_of(service).await;
        if wiring.handlers.is_empty() && NOT_CONSUMING_YET.contains(&service) {
            continue;
        }
        if let Err(mismatch) = ates_messaging::bind_handlers(service, &wiring.handlers) {
            problems.push(mismatch.to_string());
        }
        if NOT_CONSUMING_YET.contains(&service) {
            problems.push(format!(
                "{} consumes now: take it off NOT_CONSUMING_YET",
                service.binary_name()
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
