//! The web app's files, served on the BFF's port beside its gRPC and gRPC-web API: the built
//! app at `/` (any path that is not a file is the app, which routes in the page), and
//! `/config.json`, which tells the page where each service it calls is.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt as _;
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
    let root = config.root.clone();
    Router::new()
        .route("/config.json", config_route)
        .fallback(move |request: Request<Body>| {
            let root = root.clone();
            async move { file(&root, request).await }
        })
}

/// A file of the app, the app itself for any other path (it routes in the page), or 503 saying
/// how to build it. Checked on every request, so a build made while the BFF runs is served at
/// once. The files are revalidated on every load (`no-cache`: their names carry no hash), so a
/// deploy is seen at the next reload.
async fn file(root: &Path, request: Request<Body>) -> Response {
    let index = root.join("index.html");
    if !index.is_file() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The aTES web app is not built in {} (BFF_WEB_ROOT). `make up` builds it; so \
                 does `npm ci --prefix web && npm run --prefix web build`.\n",
                root.display()
            ),
        )
            .into_response();
    }
    let served = ServeDir::new(root)
        .fallback(ServeFile::new(index))
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.map(Body::new),
        Err(error) => match error {},
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
