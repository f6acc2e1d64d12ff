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

/// Whether a dependency entry names a service crate: by its key, its `package`, or its `path`.
fn names_a_service(key: &str, entry: &toml::Value) -> bool {
    let package = entry.get("package").and_then(toml::Value::as_str);
    let path = entry.get("path").and_then(toml::Value::as_str);
    [
        Some(key),
        package,
        path.map(|path| path.trim_end_matches('/')),
    ]
    .into_iter()
    .flatten()
    .any(|name| {
        name.rsplit('/')
            .next()
            .is_some_and(|last| last.ends_with("-svc"))
    })
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
        // Plain sections, and the same under every `[target.<cfg>]`.
        let mut tables: Vec<(String, &toml::Table)> = vec![(String::new(), &manifest)];
        if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
            for (cfg, table) in targets {
                if let Some(table) = table.as_table() {
                    tables.push((format!("target.{cfg}."), table));
                }
            }
        }
        for (scope, table) in tables {
            for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                let Some(dependencies) = table.get(section).and_then(toml::Value::as_table) else {
                    continue;
                };
                for (dependency, entry) in dependencies {
                    if names_a_service(dependency, entry) {
                        offending.push(format!("{name} [{scope}{section}] {dependency}"));
                    }
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "services depending on services: {offending:?}"
    );
    let renamed: toml::Table = r#"x = { package = "tracker-svc" }"#.parse().unwrap();
    assert!(
        names_a_service("x", &renamed["x"]),
        "renamed dependencies are seen"
    );
    let by_path: toml::Table = r#"x = { path = "../tracker-svc" }"#.parse().unwrap();
    assert!(
        names_a_service("x", &by_path["x"]),
        "path dependencies are seen"
    );
}

/// Crates a service's `domain/` must not use: storage, transport, the broker, the runtime, the
/// wire types, the shared process.
const FORBIDDEN_CRATES: &[&str] = &[
    "diesel",
    "diesel_async",
    "tonic",
    "lapin",
    "tokio",
    "axum",
    "http",
    "lettre",
    "ates_contracts",
    "ates_messaging",
    "ates_server",
    "ates_storage",
    "ates_telemetry",
];

/// A service's own modules its `domain/` must not reach into.
const OUTER_MODULES: &[&str] = &[
    "storage",
    "grpc",
    "events",
    "operations",
    "app",
    "config",
    "error",
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

/// Every path a file names: in `use` trees (flattened), in code, in macro invocations.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

fn flatten(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let leaf = |prefix: &[String], last: String| {
        let mut full = prefix.to_vec();
        full.push(last);
        full
    };
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => out.push(leaf(prefix, name.ident.to_string())),
        syn::UseTree::Rename(rename) => out.push(leaf(prefix, rename.ident.to_string())),
        syn::UseTree::Glob(_) => out.push(leaf(prefix, "*".to_owned())),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                flatten(item, prefix, out);
            }
        }
    }
}

impl<'ast> syn::visit::Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        flatten(&item.tree, &mut Vec::new(), &mut self.0);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.0.push(
            path.segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect(),
        );
        syn::visit::visit_path(self, path);
    }
}

/// What is wrong with `path`, named in a `domain/` file `depth` modules below the crate root
/// (`domain/mod.rs` is 1, `domain/task.rs` 2).
fn impure(path: &[String], depth: usize) -> Option<String> {
    let supers = path
        .iter()
        .take_while(|segment| *segment == "super")
        .count();
    let from_root: &[String] = if supers > 0 && supers >= depth {
        // `super` often enough to leave `domain/`: read the rest from the crate root.
        &path[depth..]
    } else if path.first().is_some_and(|first| first == "crate") {
        &path[1..]
    } else if supers > 0 {
        return None;
    } else {
        let first = path.first()?.as_str();
        return (FORBIDDEN_CRATES.contains(&first) || first.ends_with("_svc"))
            .then(|| path.join("::"));
    };
    let module = from_root.first()?;
    OUTER_MODULES
        .contains(&module.as_str())
        .then(|| path.join("::"))
}

/// The paths of Rust source `text` that `domain/` code `depth` deep must not name.
fn impure_paths(text: &str, depth: usize) -> Vec<String> {
    let syntax = syn::parse_file(text).unwrap();
    let mut paths = Paths::default();
    syn::visit::Visit::visit_file(&mut paths, &syntax);
    paths
        .0
        .iter()
        .filter_map(|path| impure(path, depth))
        .collect()
}

#[test]
fn domain_modules_import_no_storage_transport_runtime_or_other_service() {
    let mut offending = Vec::new();
    for dir in service_dirs() {
        let domain = dir.join("src/domain");
        let mut files = Vec::new();
        rust_files(&domain, &mut files);
        for file in files {
            let relative = file.strip_prefix(&domain).unwrap();
            let depth = relative.components().count()
                + usize::from(file.file_name().is_some_and(|name| name != "mod.rs"));
            for what in impure_paths(&std::fs::read_to_string(&file).unwrap(), depth) {
                offending.push(format!(
                    "{}: {what}",
                    file.strip_prefix(workspace()).unwrap().display()
                ));
            }
        }
    }
    offending.sort();
    offending.dedup();
    assert!(
        offending.is_empty(),
        "domain code that is not pure: {offending:?}"
    );
    // The check sees through groups, renames, `super` and macros.
    assert_eq!(
        impure_paths(
            "use crate::{domain::x, storage::tasks as t}; use super::super::grpc::Api; \
             use super::pricing::Prices; fn f() { tokio::spawn(async {}); diesel::sql_query!(); }",
            2
        ),
        [
            "crate::storage::tasks",
            "super::super::grpc::Api",
            "tokio::spawn",
            "diesel::sql_query"
        ]
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
            bff_svc::app::wiring_with(&application, bff_svc::config::BffConfig::local()).unwrap()
        }
        Service::Analytics => {
            let application = build(analytics_svc::app::spec()).await;
            analytics_svc::app::wiring_with(&application, Default::default())
        }
    }
}

#[tokio::test]
async fn every_services_handlers_agree_with_the_routing_table() {
    let mut problems = Vec::new();
    for service in Service::ALL {
        let wiring = wiring_of(service).await;
        if let Err(mismatch) = ates_messaging::bind_handlers(service, &wiring.handlers) {
            problems.push(mismatch.to_string());
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
