//! The token layer in front of a real service, with keys fetched from a real gRPC server that
//! speaks auth's contract.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::auth::v1::auth_service_server::{AuthService, AuthServiceServer};
use ates_token::{
    AuthKeySource, AuthLayer, Claims, Role, SigningKey, TokenError, TokenIssuer, Verifier,
    VerifierConfig,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use tonic::{Request, Response, Status};
use tower::{Layer, Service, ServiceExt};
use uuid::Uuid;

/// Serves auth's `GetPublicKeys` from a key list the test controls; everything else is not
/// part of this test.
#[derive(Clone, Default)]
struct PublishedKeys {
    keys: Arc<Mutex<Vec<(String, String)>>>,
    fetches: Arc<Mutex<u32>>,
}

#[tonic::async_trait]
impl AuthService for PublishedKeys {
    async fn get_public_keys(
        &self,
        _request: Request<auth::GetPublicKeysRequest>,
    ) -> Result<Response<auth::GetPublicKeysResponse>, Status> {
        *self.fetches.lock().unwrap() += 1;
        let keys = self
            .keys
            .lock()
            .unwrap()
            .iter()
            .map(|(kid, x)| auth::PublicKey {
                kid: kid.clone(),
                algorithm: "EdDSA".to_owned(),
                key_type: "OKP".to_owned(),
                curve: "Ed25519".to_owned(),
                x: x.clone(),
                retires_at: None,
            })
            .collect();
        Ok(Response::new(auth::GetPublicKeysResponse {
            keys,
            issuer: "ates-auth".to_owned(),
            audience: "ates".to_owned(),
        }))
    }
    async fn sign_in(
        &self,
        _: Request<auth::SignInRequest>,
    ) -> Result<Response<auth::SignInResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn who_am_i(
        &self,
        _: Request<auth::WhoAmIRequest>,
    ) -> Result<Response<auth::WhoAmIResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn create_account(
        &self,
        _: Request<auth::CreateAccountRequest>,
    ) -> Result<Response<auth::CreateAccountResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get_account(
        &self,
        _: Request<auth::GetAccountRequest>,
    ) -> Result<Response<auth::GetAccountResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn list_accounts(
        &self,
        _: Request<auth::ListAccountsRequest>,
    ) -> Result<Response<auth::ListAccountsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn change_account_role(
        &self,
        _: Request<auth::ChangeAccountRoleRequest>,
    ) -> Result<Response<auth::ChangeAccountRoleResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn change_account_email(
        &self,
        _: Request<auth::ChangeAccountEmailRequest>,
    ) -> Result<Response<auth::ChangeAccountEmailResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn reissue_beak(
        &self,
        _: Request<auth::ReissueBeakRequest>,
    ) -> Result<Response<auth::ReissueBeakResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn rotate_signing_key(
        &self,
        _: Request<auth::RotateSigningKeyRequest>,
    ) -> Result<Response<auth::RotateSigningKeyResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

struct Fixture {
    key: SigningKey,
    published: PublishedKeys,
    issuer: TokenIssuer,
    verifier: Arc<Verifier>,
}

impl Fixture {
    async fn start() -> Self {
        let key = SigningKey::generate();
        let published = PublishedKeys::default();
        published
            .keys
            .lock()
            .unwrap()
            .push((key.kid().to_owned(), key.public_x()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(AuthServiceServer::new(published.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        let source = AuthKeySource::new(&format!("http://{address}")).unwrap();
        let config = VerifierConfig {
            min_refetch_interval: Duration::ZERO,
            ..VerifierConfig::default()
        };
        let verifier = Arc::new(Verifier::new(Arc::new(source), config));
        let issuer = TokenIssuer {
            issuer: "ates-auth".to_owned(),
            audience: "ates".to_owned(),
            lifetime: chrono::Duration::minutes(15),
        };
        Self {
            key,
            published,
            issuer,
            verifier,
        }
    }

    fn good_token(&self) -> String {
        self.issuer
            .issue(&self.key, Uuid::new_v4(), Role::Worker, chrono::Utc::now())
            .unwrap()
            .0
    }

    fn claims(&self) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::new_v4(),
            role: Role::Manager,
            iss: "ates-auth".to_owned(),
            aud: "ates".to_owned(),
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: Uuid::new_v4(),
        }
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid().to_owned());
        header
    }

    /// Calls a protected method through the layer; returns the grpc-status (0 = OK) and, on
    /// success, the claims the handler saw.
    async fn call(&self, path: &str, token: Option<&str>) -> (i32, Option<Claims>) {
        let seen = Arc::new(Mutex::new(None));
        let seen_by_handler = Arc::clone(&seen);
        let handler = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
            let seen = Arc::clone(&seen_by_handler);
            async move {
                *seen.lock().unwrap() = request.extensions().get::<Claims>().cloned();
                Ok::<_, Infallible>(Status::ok("").into_http::<tonic::body::Body>())
            }
        });
        let mut service = AuthLayer::new(Arc::clone(&self.verifier))
            .with_public_methods(&["/ates.auth.v1.AuthService/SignIn"])
            .layer(handler);
        let mut request = http::Request::builder().uri(format!("http://aTES{path}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(tonic::body::Body::empty()).unwrap();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        let status = response
            .headers()
            .get("grpc-status")
            .map_or(0, |value| value.to_str().unwrap().parse::<i32>().unwrap());
        let claims = seen.lock().unwrap().clone();
        (status, claims)
    }
}

const PROTECTED: &str = "/ates.tracker.v1.TrackerService/CreateTask";
const OK: i32 = 0;
const UNAUTHENTICATED: i32 = 16;

#[tokio::test]
async fn a_good_token_is_accepted_and_its_claims_reach_the_handler() {
    let fixture = Fixture::start().await;
    let token = fixture.good_token();
    let (status, claims) = fixture.call(PROTECTED, Some(&token)).await;
    assert_eq!(status, OK);
    let claims = claims.expect("claims in the request extensions");
    assert_eq!(claims.role, Role::Worker);
    assert_eq!(claims.iss, "ates-auth");
}

#[tokio::test]
async fn health_reflection_and_declared_public_methods_need_no_token() {
    let fixture = Fixture::start().await;
    for path in [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/ates.auth.v1.AuthService/SignIn",
    ] {
        assert_eq!(fixture.call(path, None).await.0, OK, "{path}");
    }
}

#[tokio::test]
async fn every_bad_token_is_refused_with_unauthenticated() {
    let fixture = Fixture::start().await;
    let good = fixture.good_token();
    let now = chrono::Utc::now().timestamp();
    let mut cases: Vec<(&str, String, TokenError)> = Vec::new();

    cases.push(("no token", String::new(), TokenError::Missing));
    cases.push(("not a JWT", "not-a-token".to_owned(), TokenError::Malformed));

    // alg: none, with a valid-looking payload and no signature.
    let none_header =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, fixture.key.kid()));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&fixture.claims()).unwrap());
    cases.push((
        "alg none",
        format!("{none_header}.{payload}."),
        TokenError::Malformed,
    ));

    // A symmetric algorithm keyed with the public key (the classic confusion attack).
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(fixture.key.kid().to_owned());
    let hs_token = jsonwebtoken::encode(
        &hs_header,
        &fixture.claims(),
        &jsonwebtoken::EncodingKey::from_secret(fixture.key.public_x().as_bytes()),
    )
    .unwrap();
    cases.push(("symmetric algorithm", hs_token, TokenError::Algorithm));

    // Keys in or behind the header, otherwise perfectly signed.
    let mut jku = fixture.header();
    jku.jku = Some("https://attacker.example/keys".to_owned());
    cases.push((
        "jku header",
        fixture.key.sign_raw(&jku, &fixture.claims()).unwrap(),
        TokenError::EmbeddedKey,
    ));
    let mut x5u = fixture.header();
    x5u.x5u = Some("https://attacker.example/cert".to_owned());
    cases.push((
        "x5u header",
        fixture.key.sign_raw(&x5u, &fixture.claims()).unwrap(),
        TokenError::EmbeddedKey,
    ));
    let attacker = SigningKey::generate();
    let mut jwk = fixture.header();
    jwk.jwk = Some(
        serde_json::from_value(
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": attacker.public_x()}),
        )
        .unwrap(),
    );
    cases.push((
        "jwk header",
        attacker.sign_raw(&jwk, &fixture.claims()).unwrap(),
        TokenError::EmbeddedKey,
    ));

    let mut wrong_issuer = fixture.claims();
    wrong_issuer.iss = "someone-else".to_owned();
    cases.push((
        "wrong issuer",
        fixture
            .key
            .sign_raw(&fixture.header(), &wrong_issuer)
            .unwrap(),
        TokenError::Issuer,
    ));
    let mut wrong_audience = fixture.claims();
    wrong_audience.aud = "another-system".to_owned();
    cases.push((
        "wrong audience",
        fixture
            .key
            .sign_raw(&fixture.header(), &wrong_audience)
            .unwrap(),
        TokenError::Audience,
    ));
    let mut expired = fixture.claims();
    expired.iat = now - 3600;
    expired.nbf = now - 3600;
    expired.exp = now - 600;
    cases.push((
        "expired",
        fixture.key.sign_raw(&fixture.header(), &expired).unwrap(),
        TokenError::Expired,
    ));
    let mut not_yet_valid = fixture.claims();
    not_yet_valid.nbf = now + 600;
    not_yet_valid.exp = now + 1200;
    cases.push((
        "not yet valid",
        fixture
            .key
            .sign_raw(&fixture.header(), &not_yet_valid)
            .unwrap(),
        TokenError::NotYetValid,
    ));

    // Signed by a key auth never published, under its own kid and under auth's kid.
    let mut unknown_kid = Header::new(Algorithm::EdDSA);
    unknown_kid.kid = Some(attacker.kid().to_owned());
    cases.push((
        "unknown key",
        attacker.sign_raw(&unknown_kid, &fixture.claims()).unwrap(),
        TokenError::UnknownKey,
    ));
    cases.push((
        "foreign key under a known kid",
        attacker
            .sign_raw(&fixture.header(), &fixture.claims())
            .unwrap(),
        TokenError::Signature,
    ));
    let mut no_kid = fixture.header();
    no_kid.kid = None;
    cases.push((
        "no kid",
        fixture.key.sign_raw(&no_kid, &fixture.claims()).unwrap(),
        TokenError::MissingKeyId,
    ));

    // A good token whose payload was edited (role raised to admin).
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["role"] = serde_json::Value::String("admin".to_owned());
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    cases.push(("tampered payload", parts.join("."), TokenError::Signature));

    for (name, token, reason) in &cases {
        if !token.is_empty() {
            assert_eq!(
                &fixture.verifier.verify(token).await.unwrap_err(),
                reason,
                "{name} is refused for its own reason"
            );
        }
        let token = (!token.is_empty()).then_some(token.as_str());
        let (status, claims) = fixture.call(PROTECTED, token).await;
        assert_eq!(status, UNAUTHENTICATED, "{name} must be refused");
        assert!(claims.is_none(), "{name} must not reach the handler");
    }
    // The good token still works after all that.
    assert_eq!(fixture.call(PROTECTED, Some(&good)).await.0, OK);
}

#[tokio::test]
async fn a_token_with_a_new_kid_triggers_one_refetch_and_verifies() {
    let fixture = Fixture::start().await;
    assert_eq!(
        fixture.call(PROTECTED, Some(&fixture.good_token())).await.0,
        OK
    );
    assert_eq!(*fixture.published.fetches.lock().unwrap(), 1);
    assert_eq!(
        fixture.call(PROTECTED, Some(&fixture.good_token())).await.0,
        OK
    );
    assert_eq!(
        *fixture.published.fetches.lock().unwrap(),
        1,
        "keys are cached"
    );

    let rotated = SigningKey::generate();
    fixture
        .published
        .keys
        .lock()
        .unwrap()
        .insert(0, (rotated.kid().to_owned(), rotated.public_x()));
    let token = fixture
        .issuer
        .issue(&rotated, Uuid::new_v4(), Role::Admin, chrono::Utc::now())
        .unwrap()
        .0;
    let (status, claims) = fixture.call(PROTECTED, Some(&token)).await;
    assert_eq!(status, OK);
    assert_eq!(claims.unwrap().role, Role::Admin);
    assert_eq!(*fixture.published.fetches.lock().unwrap(), 2);
    // The old key still verifies.
    assert_eq!(
        fixture.call(PROTECTED, Some(&fixture.good_token())).await.0,
        OK
    );
}

#[test]
fn role_checks_answer_permission_denied_or_unauthenticated() {
    let mut request = Request::new(());
    assert_eq!(
        ates_token::caller(&request).unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
    let now = chrono::Utc::now().timestamp();
    request.extensions_mut().insert(Claims {
        sub: Uuid::new_v4(),
        role: Role::Worker,
        iss: "ates-auth".to_owned(),
        aud: "ates".to_owned(),
        iat: now,
        nbf: now,
        exp: now + 60,
        jti: Uuid::new_v4(),
    });
    let denied = ates_token::require_role(&request, &[Role::Admin, Role::Manager]).unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(denied.message().contains("admin, manager"));
    assert_eq!(
        ates_token::require_role(&request, &[Role::Worker])
            .unwrap()
            .role,
        Role::Worker
    );
}
