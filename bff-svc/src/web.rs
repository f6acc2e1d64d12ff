//! The web app's files, served on the BFF's port beside its gRPC and gRPC-web API: the built
//! app at `/` (any path that is not a file is the app, which routes in the page), and
//! `/config.json`, which tells the page where each service it calls is.

use std::path::PathBuf;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::config::WebConfig;

/// The routes: `/config.json` and the files under `config.root`.
pub fn routes(config: &WebConfig) -> Router {
    let addresses = serde_json::json!({
        "auth": config.auth_url,
        "tracker": config.tracker_url,
        "analytics": config.analytics_url,
        "payouts": config.payouts_url,
        // The BFF is where the page came from.
        "bff": "",
    })
    .to_string();
    let config_route = get(move || {
        let addresses = addresses.clone();
        async move {
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                addresses,
            )
        }
    });
    let index = config.root.join("index.html");
    let router = Router::new().route("/config.json", config_route);
    if index.is_file() {
        router.fallback_service(ServeDir::new(&config.root).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(root = %config.root.display(), "the web app is not built: `/` answers 503");
        let root: PathBuf = config.root.clone();
        router.fallback(move || {
            let root = root.clone();
            async move {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "The aTES web app is not built in {} (BFF_WEB_ROOT). `make up` builds it; \
                         so does `npm ci --prefix web && npm run --prefix web build`.\n",
                        root.display()
                    ),
                )
                    .into_response()
            }
        })
    }
}
