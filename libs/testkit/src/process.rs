//! Child processes a test owns (a broker node, a service binary), killed when dropped.

use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A child process in a process group of its own; the whole group is killed on drop.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: tokio::process::Child,
}

impl ChildProcess {
    /// Spawns `command` in a new process group.
    pub fn spawn(name: &str, mut command: tokio::process::Command) -> std::io::Result<Self> {
        command.process_group(0).kill_on_drop(true);
        let child = command.spawn()?;
        Ok(Self {
            name: name.to_owned(),
            child,
        })
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends a signal to the whole process group.
    pub fn signal(&self, signal: i32) {
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            // A negative pid signals the whole group we created.
            let _ = nix_kill(-pid, signal);
        }
    }

    /// How the process exited, when it has (without waiting).
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILLs the process group and waits for the child to exit.
    pub async fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait().await;
    }

    /// SIGTERMs the process group and waits up to `timeout` for the child to exit, then kills it.
    pub async fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.signal(libc::SIGTERM);
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                tracing::warn!(process = %self.name, "did not stop in time; killing it");
                self.kill().await;
                None
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(libc::SIGKILL);
        }
    }
}

fn nix_kill(pid: i32, signal: i32) -> std::io::Result<()> {
    // The workspace forbids unsafe code; std has no killpg, so use the kill(1) utility.
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}

/// What a gRPC health check answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// The server answered SERVING.
    Serving,
    /// The server answered NOT_SERVING (or UNKNOWN).
    NotServing,
    /// No answer: not listening, or the call failed.
    Unreachable,
}

/// Asks the standard gRPC health service at `endpoint` (e.g. `http://127.0.0.1:50052`) about
/// `service` ("" for the whole server).
pub async fn health_status(endpoint: &str, service: &str) -> HealthStatus {
    let Ok(channel) = tonic::transport::Endpoint::from_shared(endpoint.to_owned()) else {
        return HealthStatus::Unreachable;
    };
    let Ok(channel) = channel
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await
    else {
        return HealthStatus::Unreachable;
    };
    let mut client = HealthClient::new(channel);
    match client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
    {
        Ok(response) if response.get_ref().status() == ServingStatus::Serving => {
            HealthStatus::Serving
        }
        Ok(_) => HealthStatus::NotServing,
        Err(_) => HealthStatus::Unreachable,
    }
}

/// Polls the health of `endpoint` until it is `wanted`, for at most `timeout`; returns the last
/// status seen.
pub async fn wait_for_health(
    endpoint: &str,
    wanted: HealthStatus,
    timeout: Duration,
) -> HealthStatus {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status = health_status(endpoint, "").await;
        if status == wanted || tokio::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
