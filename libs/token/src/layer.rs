//! The tower layer that authenticates every gRPC call except health, reflection and the
//! methods a service declares public.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Status;
use tower::{Layer, Service};

use crate::{TokenError, Verifier};

/// Paths that never need a token: the standard health and reflection services.
const ALWAYS_PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Verifies the bearer token of every request and puts its [`crate::Claims`] in the request
/// extensions; answers UNAUTHENTICATED itself when the token is missing or bad.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
    public_methods: Arc<[&'static str]>,
}

impl AuthLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self {
            verifier,
            public_methods: Arc::from(Vec::new()),
        }
    }

    /// Also lets these full method paths (`/ates.auth.v1.AuthService/SignIn`) through without a
    /// token.
    pub fn with_public_methods(mut self, methods: &[&'static str]) -> Self {
        self.public_methods = Arc::from(methods.to_vec());
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthMiddleware {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the server.
#[derive(Debug, Clone)]
pub struct AuthMiddleware<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> Service<http::Request<B>> for AuthMiddleware<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is not ready; call the instance that was polled ready and keep the clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if ALWAYS_PUBLIC_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || self.layer.public_methods.contains(&path)
        {
            return Box::pin(inner.call(request));
        }
        let verifier = Arc::clone(&self.layer.verifier);
        Box::pin(async move {
            let token = bearer_token(request.headers());
            let verified = match token {
                Some(token) => verifier.verify(token).await,
                None => Err(TokenError::Missing),
            };
            match verified {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(error) => {
                    tracing::debug!(reason = %error, "refused a request without a valid token");
                    let status = match error {
                        TokenError::KeysUnavailable(_) => Status::unavailable(error.to_string()),
                        _ => Status::unauthenticated(error.to_string()),
                    };
                    Ok(status.into_http())
                }
            }
        })
    }
}

fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}
