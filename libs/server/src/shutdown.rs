//! Stopping: SIGTERM, Ctrl-C or the application's own token.

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::readiness::Health;

/// Resolves when the process is asked to stop; reports NOT_SERVING first, so that load
/// balancers stop sending calls while in-flight ones finish, then cancels `shutdown` for every
/// background task.
pub(crate) async fn requested(shutdown: CancellationToken, health: Health) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = termination_signal() => {}
    }
    tracing::info!("shutting down");
    health.set(ServingStatus::NotServing).await;
    shutdown.cancel();
}

async fn termination_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
