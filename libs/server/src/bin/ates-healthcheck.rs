//! `ates-healthcheck ENDPOINT [SERVICE]`: asks the standard gRPC health service and exits 0 when
//! the answer is SERVING, 1 otherwise. Used by `make up` to wait for the services.

use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut arguments = std::env::args().skip(1);
    let Some(endpoint) = arguments.next() else {
        eprintln!("usage: ates-healthcheck ENDPOINT [SERVICE]");
        return std::process::ExitCode::from(2);
    };
    let service = arguments.next().unwrap_or_default();
    let status = async {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .ok()?
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .ok()?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest { service })
            .await
            .ok()?;
        Some(response.into_inner().status())
    }
    .await;
    match status {
        Some(ServingStatus::Serving) => std::process::ExitCode::SUCCESS,
        Some(other) => {
            eprintln!("{endpoint}: {}", other.as_str_name());
            std::process::ExitCode::FAILURE
        }
        None => {
            eprintln!("{endpoint}: unreachable");
            std::process::ExitCode::FAILURE
        }
    }
}
