//! Calls a service makes on behalf of its caller carry the caller's token and trace.
//!
//! On the way in, [`CallerContextLayer`] (installed by the application around every gRPC
//! handler) keeps the caller's `authorization` header for the duration of the call. On the way
//! out, [`Propagate`] (a channel from [`propagating_channel`]) puts that header and the current
//! span's W3C trace context on every outgoing request, so that the service called enforces the
//! caller's own rights and the trace goes on.

use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use tonic::transport::{Channel, Endpoint};
use tower::{Layer, Service};

tokio::task_local! {
    static CALLER_AUTHORIZATION: Option<HeaderValue>;
}

/// Keeps each incoming request's `authorization` header for the outgoing calls its handler makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerContextLayer;

impl<S> Layer<S> for CallerContextLayer {
    type Service = CallerContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerContext { inner }
    }
}

/// The service [`CallerContextLayer`] wraps.
#[derive(Debug, Clone)]
pub struct CallerContext<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for CallerContext<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Option<HeaderValue>, S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let authorization = request.headers().get(AUTHORIZATION).cloned();
        CALLER_AUTHORIZATION.scope(authorization, self.inner.call(request))
    }
}

/// Puts the caller's token (unless the request has one) and the current trace context on every
/// outgoing request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateLayer;

impl<S> Layer<S> for PropagateLayer {
    type Service = Propagate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Propagate { inner }
    }
}

/// A client service (a tonic [`Channel`], say) whose requests carry the caller's context.
#[derive(Debug, Clone)]
pub struct Propagate<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for Propagate<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if !request.headers().contains_key(AUTHORIZATION)
            && let Ok(Some(authorization)) = CALLER_AUTHORIZATION.try_with(Clone::clone)
        {
            request.headers_mut().insert(AUTHORIZATION, authorization);
        }
        ates_telemetry::inject_into_headers(request.headers_mut());
        self.inner.call(request)
    }
}

/// A lazily connecting channel to `endpoint` whose calls carry the caller's token and trace and
/// give up after `deadline`; generated clients take it as they take a [`Channel`].
pub fn propagating_channel(
    endpoint: &str,
    deadline: Duration,
) -> Result<Propagate<Channel>, tonic::transport::Error> {
    let channel = Endpoint::from_shared(endpoint.to_owned())?
        .connect_timeout(deadline)
        .timeout(deadline)
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(PropagateLayer.layer(channel))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// What an outgoing request looked like.
    type Seen = std::sync::Arc<std::sync::Mutex<Option<http::HeaderMap>>>;

    #[derive(Clone)]
    struct Downstream(Seen);

    impl Service<http::Request<()>> for Downstream {
        type Response = ();
        type Error = Infallible;
        type Future = std::future::Ready<Result<(), Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<()>) -> Self::Future {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(request.headers().clone());
            std::future::ready(Ok(()))
        }
    }

    /// A handler that makes one outgoing call.
    #[derive(Clone)]
    struct Handler(Propagate<Downstream>);

    impl Service<http::Request<()>> for Handler {
        type Response = ();
        type Error = Infallible;
        type Future = futures::future::BoxFuture<'static, Result<(), Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: http::Request<()>) -> Self::Future {
            let mut outgoing = self.0.clone();
            Box::pin(async move { outgoing.call(http::Request::new(())).await })
        }
    }

    #[tokio::test]
    async fn an_outgoing_call_carries_the_callers_token_and_trace_and_no_token_without_a_caller() {
        let seen = Seen::default();
        let mut server = CallerContextLayer.layer(Handler(
            PropagateLayer.layer(Downstream(std::sync::Arc::clone(&seen))),
        ));
        let mut incoming = http::Request::new(());
        incoming.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer caller-token"),
        );
        server.call(incoming).await.unwrap();
        let headers = seen.lock().unwrap().take().unwrap();
        assert_eq!(headers.get(AUTHORIZATION).unwrap(), "Bearer caller-token");

        // The trace goes on: the outgoing request carries the current span's trace context.
        {
            use opentelemetry::trace::TracerProvider as _;
            use tracing::Instrument as _;
            use tracing_subscriber::layer::SubscriberExt as _;
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
            let _default = tracing::subscriber::set_default(subscriber);
            let span = tracing::info_span!("handler");
            let trace_id = span.in_scope(ates_telemetry::current_trace_id).unwrap();
            let mut incoming = http::Request::new(());
            incoming.headers_mut().insert(
                AUTHORIZATION,
                HeaderValue::from_static("Bearer caller-token"),
            );
            server.call(incoming).instrument(span).await.unwrap();
            let headers = seen.lock().unwrap().take().unwrap();
            let traceparent = headers["traceparent"].to_str().unwrap().to_owned();
            assert!(
                traceparent.contains(&trace_id),
                "{traceparent} is not in trace {trace_id}"
            );
        }

        // Outside any incoming call there is no caller whose token could leak.
        let mut outgoing = PropagateLayer.layer(Downstream(std::sync::Arc::clone(&seen)));
        outgoing.call(http::Request::new(())).await.unwrap();
        assert!(
            seen.lock()
                .unwrap()
                .take()
                .unwrap()
                .get(AUTHORIZATION)
                .is_none()
        );
    }
}
