//! auth's gRPC API: `ates.auth.v1.AuthService`.

pub mod convert;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use ates_contracts::ates::auth::v1 as api;
use ates_contracts::ates::auth::v1::auth_service_server::AuthService;
use ates_server::paging::{Page, PageSizes};
use ates_token::{Role, TokenIssuer, caller, require_role};
use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::domain::beak;
use crate::domain::{SignInThrottle, ThrottleVerdict, TrustedProxies, throttle_key};
use crate::error::AuthError;
use crate::operations::{Accounts, KeyRing};

const PAGE_SIZES: PageSizes = PageSizes {
    default: 100,
    max: 500,
};

/// The AuthService implementation.
#[derive(Debug, Clone)]
pub struct AuthApi {
    pub(crate) accounts: Accounts,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) issuer: TokenIssuer,
    pub(crate) throttle: Arc<SignInThrottle>,
    pub(crate) trusted_proxies: TrustedProxies,
}

impl AuthApi {
    /// The client signing in: the peer, or the address a trusted proxy forwarded for.
    fn client_address<T>(&self, request: &Request<T>) -> IpAddr {
        let peer = request
            .remote_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |address| address.ip());
        let lines: Vec<Option<&str>> = request
            .metadata()
            .get_all(self.trusted_proxies.header().name())
            .iter()
            .map(|value| value.to_str().ok())
            .collect();
        self.trusted_proxies.client(peer, lines)
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn sign_in(
        &self,
        request: Request<api::SignInRequest>,
    ) -> Result<Response<api::SignInResponse>, Status> {
        let client = self.client_address(&request);
        let counted_as = throttle_key(client);
        if let ThrottleVerdict::Refused { retry_after } =
            self.throttle.check(counted_as, Instant::now())
        {
            return Err(AuthError::Throttled {
                retry_after_seconds: retry_after.as_secs().max(1),
            }
            .into());
        }
        let beak = request.get_ref().beak.as_str();
        if beak.is_empty() {
            return Err(AuthError::InvalidArgument {
                field: "beak",
                reason: "must not be empty".to_owned(),
            }
            .into());
        }
        let account = if beak.len() > beak::MAX_LENGTH {
            None
        } else {
            self.accounts.by_beak(beak).await?
        };
        let Some(account) = account else {
            self.throttle.record_failure(counted_as, Instant::now());
            tracing::info!(client = %client, "sign-in refused");
            return Err(AuthError::BadBeak.into());
        };
        self.throttle.record_success(counted_as);
        let key = self.keys.current().await.map_err(AuthError::from)?;
        let (access_token, expires_at) = self
            .issuer
            .issue(&key, account.public_id, account.role(), Utc::now())
            .map_err(|error| AuthError::Internal(format!("token signing failed: {error}")))?;
        tracing::info!(account.id = %account.public_id, "signed in");
        Ok(Response::new(api::SignInResponse {
            access_token,
            expires_at: Some(convert::timestamp(expires_at)),
            account: Some(convert::account(&account)),
        }))
    }

    async fn get_public_keys(
        &self,
        _request: Request<api::GetPublicKeysRequest>,
    ) -> Result<Response<api::GetPublicKeysResponse>, Status> {
        let keys = self.keys.published().await.map_err(AuthError::from)?;
        Ok(Response::new(api::GetPublicKeysResponse {
            keys: keys
                .into_iter()
                .map(|key| api::PublicKey {
                    kid: key.kid,
                    algorithm: ates_token::ALGORITHM.to_owned(),
                    key_type: "OKP".to_owned(),
                    curve: "Ed25519".to_owned(),
                    x: key.x,
                    retires_at: key.verify_until.map(convert::timestamp),
                })
                .collect(),
            issuer: self.issuer.issuer.clone(),
            audience: self.issuer.audience.clone(),
        }))
    }

    async fn who_am_i(
        &self,
        request: Request<api::WhoAmIRequest>,
    ) -> Result<Response<api::WhoAmIResponse>, Status> {
        let account_id = caller(&request)?.sub;
        let account = self.accounts.get(account_id).await?;
        Ok(Response::new(api::WhoAmIResponse {
            account: Some(convert::account(&account)),
        }))
    }

    async fn create_account(
        &self,
        request: Request<api::CreateAccountRequest>,
    ) -> Result<Response<api::CreateAccountResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let email = convert::email(&request.get_ref().email)?;
        let role = convert::role(request.get_ref().role)?;
        let (account, beak) = self.accounts.create(&email, role).await?;
        Ok(Response::new(api::CreateAccountResponse {
            account: Some(convert::account(&account)),
            beak: beak.expose().to_owned(),
        }))
    }

    async fn get_account(
        &self,
        request: Request<api::GetAccountRequest>,
    ) -> Result<Response<api::GetAccountResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let account_id = convert::account_id(&request.get_ref().account_id)?;
        let account = self.accounts.get(account_id).await?;
        Ok(Response::new(api::GetAccountResponse {
            account: Some(convert::account(&account)),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<api::ListAccountsRequest>,
    ) -> Result<Response<api::ListAccountsResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let page = Page::parse(
            request.get_ref().page_size,
            &request.get_ref().page_token,
            PAGE_SIZES,
            "ates.auth.v1.AuthService/ListAccounts",
        )
        .map_err(AuthError::from)?;
        let mut rows = self.accounts.page(page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.public_id);
        Ok(Response::new(api::ListAccountsResponse {
            accounts: rows.iter().map(convert::account).collect(),
            next_page_token,
        }))
    }

    async fn change_account_role(
        &self,
        request: Request<api::ChangeAccountRoleRequest>,
    ) -> Result<Response<api::ChangeAccountRoleResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let account_id = convert::account_id(&request.get_ref().account_id)?;
        let role = convert::role(request.get_ref().role)?;
        let account = self.accounts.change_role(account_id, role).await?;
        Ok(Response::new(api::ChangeAccountRoleResponse {
            account: Some(convert::account(&account)),
        }))
    }

    async fn change_account_email(
        &self,
        request: Request<api::ChangeAccountEmailRequest>,
    ) -> Result<Response<api::ChangeAccountEmailResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let account_id = convert::account_id(&request.get_ref().account_id)?;
        let email = convert::email(&request.get_ref().email)?;
        let account = self.accounts.change_email(account_id, &email).await?;
        Ok(Response::new(api::ChangeAccountEmailResponse {
            account: Some(convert::account(&account)),
        }))
    }

    async fn reissue_beak(
        &self,
        request: Request<api::ReissueBeakRequest>,
    ) -> Result<Response<api::ReissueBeakResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let account_id = convert::account_id(&request.get_ref().account_id)?;
        let beak = self.accounts.reissue_beak(account_id).await?;
        Ok(Response::new(api::ReissueBeakResponse {
            beak: beak.expose().to_owned(),
        }))
    }

    async fn rotate_signing_key(
        &self,
        request: Request<api::RotateSigningKeyRequest>,
    ) -> Result<Response<api::RotateSigningKeyResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let kid = self.keys.rotate().await.map_err(AuthError::from)?;
        Ok(Response::new(api::RotateSigningKeyResponse { kid }))
    }
}
