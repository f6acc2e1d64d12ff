//! A broker session that reconnects: the loop the relay's and the consumers' sessions share.

use std::time::Duration;

use lapin::Connection;
use tokio_util::sync::CancellationToken;

use crate::amqp::Backoff;

/// How long a session must last before a reconnection starts again from the shortest pause.
const STABLE_SESSION: Duration = Duration::from_secs(10);

/// How a session's work ended.
#[derive(Debug)]
pub(crate) enum SessionEnd {
    /// Shutdown was asked for: the session closes and does not reconnect.
    Shutdown,
    /// Test only: the process "died" (no close, no reconnect).
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    Crashed,
    /// The broker went away or refused something: reconnect after a pause.
    Lost(lapin::Error),
}

/// Something that works on a broker session: the relay, a consumer.
pub(crate) trait Reconnecting: Sync {
    /// What one session holds (channels, a delivery stream).
    type Session: Send;

    /// Connects and opens a session.
    fn open(
        &self,
    ) -> impl Future<Output = Result<(Connection, Self::Session), lapin::Error>> + Send;

    /// Works on the session until shutdown or until the broker goes away.
    fn work(
        &self,
        session: &mut Self::Session,
        shutdown: &CancellationToken,
    ) -> impl Future<Output = SessionEnd> + Send;
}

/// Opens a session and works on it until shutdown, reconnecting with back-off whenever the
/// broker cannot be reached or goes away. `what` names the session in logs (`tracker-svc relay`,
/// `consumer accounting.ates.tracker.tasks`).
pub(crate) async fn run_reconnecting<R: Reconnecting>(
    what: &str,
    runner: &R,
    shutdown: &CancellationToken,
) {
    let mut backoff = Backoff::default();
    while !shutdown.is_cancelled() {
        let opened = tokio::select! {
            () = shutdown.cancelled() => return,
            opened = runner.open() => opened,
        };
        let (connection, mut session) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(session = what, error = %error, retry_in_ms = millis(delay), "cannot reach the broker");
                sleep_or_shutdown(delay, shutdown).await;
                continue;
            }
        };
        tracing::info!(session = what, "connected to the broker");
        let opened_at = tokio::time::Instant::now();
        let end = runner.work(&mut session, shutdown).await;
        // Only a session that lasted counts as a success: one the broker ends right after it
        // opens (a queue it refuses, say) must not become a reconnection storm.
        if opened_at.elapsed() >= STABLE_SESSION {
            backoff.reset();
        }
        match end {
            SessionEnd::Shutdown => {
                // Unacked deliveries go back to their queue when the connection closes.
                let _ = connection.close(200, "stopping".into()).await;
                return;
            }
            SessionEnd::Crashed => {
                let _ = connection.close(320, "crashed".into()).await;
                return;
            }
            SessionEnd::Lost(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(session = what, error = %error, retry_in_ms = millis(delay), "lost the broker");
                // Closing fails when the broker is already gone; nothing is left to release then.
                let _ = connection.close(200, "reconnecting".into()).await;
                sleep_or_shutdown(delay, shutdown).await;
            }
        }
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

/// Sleeps `delay`, or less when shutdown comes first.
pub(crate) async fn sleep_or_shutdown(delay: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(delay) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A session the broker ends the moment it opens, as it does when it refuses a queue.
    struct RefusedAtOnce {
        broker: ates_testkit::TestBroker,
        opens: AtomicUsize,
    }

    impl Reconnecting for RefusedAtOnce {
        type Session = ();

        async fn open(&self) -> Result<(Connection, ()), lapin::Error> {
            self.opens.fetch_add(1, Ordering::SeqCst);
            let connection = self
                .broker
                .connect()
                .await
                .expect("the test broker answers");
            Ok((connection, ()))
        }

        async fn work(&self, _: &mut (), _: &CancellationToken) -> SessionEnd {
            SessionEnd::Lost(lapin::Error::from(
                lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed),
            ))
        }
    }

    #[tokio::test]
    async fn a_session_lost_as_soon_as_it_opens_is_retried_with_growing_pauses() {
        let runner = RefusedAtOnce {
            broker: ates_testkit::TestBroker::shared(),
            opens: AtomicUsize::new(0),
        };
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            stop.cancel();
        });
        run_reconnecting("refused at once", &runner, &shutdown).await;
        // Pauses of 0.1, 0.2, 0.4, 0.8 and 1.6 s fit five or six opens into 3 s; starting again
        // from 0.1 s after every open would make about thirty.
        let opens = runner.opens.load(Ordering::SeqCst);
        assert!((2..=7).contains(&opens), "{opens} sessions opened in 3 s");
    }
}
