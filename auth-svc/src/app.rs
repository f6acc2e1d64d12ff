//! Wiring of auth-svc into the shared service process.

use std::sync::Arc;

use ates_contracts::ates::auth::v1::auth_service_server::AuthServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, StartupTask, Wiring};
use ates_token::{TokenIssuer, Verifier, VerifierConfig};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use secrecy::ExposeSecret;

use crate::config::AuthConfig;
use crate::domain::{BeakDigester, SignInThrottle};
use crate::events::snapshots::AccountSnapshots;
use crate::grpc::AuthApi;
use crate::operations::{Accounts, KeyRing, LocalKeySource};

/// auth's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What is fixed about auth-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Auth,
        grpc_services: &["ates.auth.v1.AuthService"],
        public_methods: &[
            "/ates.auth.v1.AuthService/SignIn",
            "/ates.auth.v1.AuthService/GetPublicKeys",
        ],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
        grpc_web: true,
    }
}

/// auth-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    let config = AuthConfig::from_env(application.config())?;
    Ok(wiring_with(application, config))
}

/// auth-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(application: &Application, config: AuthConfig) -> Wiring {
    let service_config = application.config();
    let keys = Arc::new(KeyRing::new(
        application.pool(),
        &config.key_encryption_key,
        config.token_lifetime,
        config.key_retirement_leeway,
    ));
    let accounts = Accounts::new(
        application.pool(),
        application.outbox(),
        BeakDigester::new(config.beak_key.clone()),
    );
    let issuer = TokenIssuer {
        issuer: service_config.token_issuer.clone(),
        audience: service_config.token_audience.clone(),
        lifetime: chrono::Duration::from_std(config.token_lifetime)
            .unwrap_or(chrono::Duration::minutes(15)),
    };
    let api = AuthApi {
        accounts: accounts.clone(),
        keys: Arc::clone(&keys),
        issuer,
        throttle: Arc::new(SignInThrottle::new(
            config.sign_in_max_failures,
            config.sign_in_window,
        )),
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let verifier = Arc::new(Verifier::new(
        Arc::new(LocalKeySource(Arc::clone(&keys))),
        VerifierConfig {
            issuer: service_config.token_issuer.clone(),
            audience: service_config.token_audience.clone(),
            leeway: service_config.token_leeway,
            ..VerifierConfig::default()
        },
    ));

    let bootstrap_admin = config
        .bootstrap_admin
        .map(|(email, beak)| (email, beak.expose_secret().to_owned()));
    let on_ready: StartupTask = Arc::new(move || {
        let keys = Arc::clone(&keys);
        let accounts = accounts.clone();
        let bootstrap_admin = bootstrap_admin.clone();
        Box::pin(async move {
            // Make sure a signing key exists before the first sign-in.
            keys.current().await?;
            if let Some((email, beak)) = bootstrap_admin
                && !accounts.bootstrap_admin(&email, &beak).await?
            {
                tracing::info!("an admin exists; no bootstrap admin created");
            }
            Ok(())
        })
    });

    let mut wiring = Wiring {
        verifier: Some(verifier),
        on_ready: Some(on_ready),
        ..Wiring::default()
    };
    wiring.routes.add_service(AuthServiceServer::new(api));
    wiring.answer_resyncs(application, AccountSnapshots);
    wiring
}
