//! Background work of a service: named workers restarted with back-off, and housekeeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ates_messaging::{Backoff, DbPool};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

type WorkerBody =
    Arc<dyn Fn(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// A named long-running task: it is given the shutdown signal and should return soon after it
/// fires. It starts once the service is ready. When it fails (returns an error or panics) the
/// failure is logged and it is started again after a back-off (100 ms doubling to 30 s, back to
/// the start after a minute without failure); when it returns `Ok` it is done.
#[derive(Clone)]
pub struct Worker {
    name: &'static str,
    body: WorkerBody,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name)
    }
}

/// A run that lasted this long without failing resets the back-off.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

impl Worker {
    /// A worker named `name` (for logs) running `body`.
    pub fn new<F, Fut>(name: &'static str, body: F) -> Self
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name,
            body: Arc::new(move |shutdown| Box::pin(body(shutdown))),
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the worker until it is done or `shutdown` fires, restarting it after failures.
    pub async fn supervise(self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        loop {
            let started = Instant::now();
            let run = tokio::spawn((self.body)(shutdown.clone())).await;
            if shutdown.is_cancelled() {
                return;
            }
            match run {
                Ok(Ok(())) => {
                    tracing::info!(worker = self.name, "worker finished");
                    return;
                }
                Ok(Err(error)) => {
                    tracing::warn!(worker = self.name, error = %format!("{error:#}"), "worker failed; restarting it");
                }
                Err(panic) => {
                    tracing::error!(worker = self.name, error = %panic, "worker panicked; restarting it");
                }
            }
            if started.elapsed() >= HEALTHY_RUN {
                backoff.reset();
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }
}

/// A periodic clean-up job: its name (for logs) and what it does; answers how many rows went.
#[derive(Clone)]
pub struct Housekeeping {
    /// What is cleaned, e.g. `"inbox ids"`.
    pub name: &'static str,
    /// One round of the job.
    pub run: Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<u64>> + Send + Sync>,
}

impl Housekeeping {
    /// Deletes the rows of `table` whose `column` (a time) is older than `retention`, in
    /// batches ([`ates_storage::prune_before`]).
    pub fn pruning(
        name: &'static str,
        pool: DbPool,
        table: &'static str,
        column: &'static str,
        retention: Duration,
    ) -> Self {
        Self {
            name,
            run: Arc::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    let cutoff = ates_storage::cutoff(retention)?;
                    Ok(ates_storage::prune_before(&pool, table, column, cutoff).await?)
                })
            }),
        }
    }

    /// A worker running every job now and then every `interval`. A failed round is logged and
    /// tried again next time; housekeeping never stops the service.
    pub(crate) fn worker(jobs: Vec<Housekeeping>, interval: Duration) -> Worker {
        let jobs = Arc::new(jobs);
        Worker::new("housekeeping", move |shutdown| {
            let jobs = Arc::clone(&jobs);
            async move {
                run_rounds(&jobs, interval, &shutdown).await;
                Ok(())
            }
        })
    }
}

impl std::fmt::Debug for Housekeeping {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Housekeeping")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

async fn run_rounds(jobs: &[Housekeeping], interval: Duration, shutdown: &CancellationToken) {
    loop {
        for job in jobs {
            let round = tokio::select! {
                () = shutdown.cancelled() => return,
                round = (job.run)() => round,
            };
            match round {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(job = job.name, rows = pruned, "housekeeping pruned"),
                Err(error) => {
                    tracing::warn!(job = job.name, error = %error, "housekeeping failed; next round later");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_failing_or_panicking_worker_is_restarted_and_a_finished_one_is_not() {
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        let worker = Worker::new("flaky", move |_shutdown| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match run {
                    0 => anyhow::bail!("first run fails"),
                    1 => panic!("second run panics"),
                    _ => Ok(()),
                }
            }
        });
        tokio::time::timeout(
            Duration::from_secs(5),
            worker.supervise(CancellationToken::new()),
        )
        .await
        .expect("the worker finishes on its third run");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn shutdown_stops_a_worker_and_its_restarts() {
        let shutdown = CancellationToken::new();
        let worker = Worker::new("forever", |shutdown: CancellationToken| async move {
            shutdown.cancelled().await;
            Ok(())
        });
        let supervised = tokio::spawn(worker.supervise(shutdown.clone()));
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), supervised)
            .await
            .expect("shutdown ends the worker")
            .unwrap();
    }
}
