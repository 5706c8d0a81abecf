use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::*;

// Test-only keys (see tests/fixtures/README.md).
const RSA1_KEY: &str = include_str!("../../tests/fixtures/rsa-1.key.pem");
const RSA1_PUB: &str = include_str!("../../tests/fixtures/rsa-1.pub.pem");
const RSA2_KEY: &str = include_str!("../../tests/fixtures/rsa-2.key.pem");
const ED1_KEY: &str = include_str!("../../tests/fixtures/ed-1.key.pem");
const ED2_KEY: &str = include_str!("../../tests/fixtures/ed-2.key.pem");
const JWKS: &str = include_str!("../../tests/fixtures/jwks.json");
const SECRET: &str = "s3cret-s3cret-s3cret-s3cret-s3cret";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn config(secret: Option<&str>, public_keys: PublicKeys) -> JwtConfig {
    JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: secret.map(Secret::new),
        public_keys,
    }
}

async fn keys(sources: JwtSettings) -> PublicKeys {
    PublicKeys::load(&sources).await.unwrap()
}

fn pem_sources(names: &[&str]) -> JwtSettings {
    JwtSettings {
        jwt_public_key_files: names.iter().map(|n| fixture(n)).collect(),
        ..JwtSettings::default()
    }
}

fn jwks_file_sources() -> JwtSettings {
    JwtSettings {
        jwks_path: Some(fixture("jwks.json")),
        ..JwtSettings::default()
    }
}

fn hour() -> chrono::Duration {
    chrono::Duration::hours(1)
}

/// Mints with `key` and `kid` as `config` would (same iss/aud).
fn signed(c: &JwtConfig, key: &str, kid: Option<&str>) -> String {
    c.mint_with_pem(
        key.as_bytes(),
        kid,
        "ops",
        Role::PlatformAdmin,
        None,
        hour(),
    )
    .unwrap()
}

async fn rejection(c: &JwtConfig, token: &str) -> String {
    match c.verify(token).await {
        Err(JwtError::Invalid(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn hs256_mint_and_verify() {
    let c = config(Some(SECRET), PublicKeys::none());
    let t = c.mint("ops", Role::PlatformAdmin, None, hour()).unwrap();
    assert_eq!(c.verify(&t).await.unwrap().role, Role::PlatformAdmin);
    let other = config(
        Some("other-other-other-other-other-other"),
        PublicKeys::none(),
    );
    assert_eq!(rejection(&other, &t).await, "bad signature");
    let expired = c
        .mint(
            "ops",
            Role::PlatformAdmin,
            None,
            chrono::Duration::hours(-2),
        )
        .unwrap();
    assert_eq!(rejection(&c, &expired).await, "expired");
    let mut other_aud = c.clone();
    other_aud.audience = "elsewhere".into();
    let t2 = other_aud
        .mint("ops", Role::PlatformAdmin, None, hour())
        .unwrap();
    assert_eq!(rejection(&c, &t2).await, "wrong audience");
    let mut other_iss = c.clone();
    other_iss.issuer = "elsewhere".into();
    let t3 = other_iss
        .mint("ops", Role::PlatformAdmin, None, hour())
        .unwrap();
    assert_eq!(rejection(&c, &t3).await, "wrong issuer");
    let tenantless = c.mint("t", Role::TenantAdmin, None, hour()).unwrap();
    assert!(matches!(
        c.verify(&tenantless).await,
        Err(JwtError::TenantAdminWithoutTenant)
    ));
    let tenant = c
        .mint("t", Role::TenantAdmin, Some("ten_1".into()), hour())
        .unwrap();
    assert_eq!(
        c.verify(&tenant).await.unwrap().tenant_id.as_deref(),
        Some("ten_1")
    );
    assert_eq!(rejection(&c, "not.a.jwt").await, "malformed token");
}

#[tokio::test]
async fn mint_needs_a_secret_or_a_private_key() {
    let c = config(None, PublicKeys::none());
    assert!(matches!(
        c.mint("ops", Role::PlatformAdmin, None, hour()),
        Err(JwtError::Mint(_))
    ));
    // A public key cannot sign.
    assert!(matches!(
        c.mint_with_pem(
            RSA1_PUB.as_bytes(),
            None,
            "ops",
            Role::PlatformAdmin,
            None,
            hour()
        ),
        Err(JwtError::Mint(_))
    ));
}

#[tokio::test]
async fn rs256_with_a_pem_key() {
    let c = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let t = signed(&c, RSA1_KEY, None);
    assert_eq!(
        jsonwebtoken::decode_header(&t).unwrap().alg,
        Algorithm::RS256
    );
    let claims = c.verify(&t).await.unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.role),
        ("ops", Role::PlatformAdmin)
    );
    // PEM keys carry no kid, so they serve tokens naming any kid.
    c.verify(&signed(&c, RSA1_KEY, Some("whatever")))
        .await
        .unwrap();
    // Expiry etc. apply just as with HS256.
    let expired = c
        .mint_with_pem(
            RSA1_KEY.as_bytes(),
            None,
            "ops",
            Role::PlatformAdmin,
            None,
            chrono::Duration::hours(-2),
        )
        .unwrap();
    assert_eq!(rejection(&c, &expired).await, "expired");
}

#[tokio::test]
async fn rs384_and_rs512_are_accepted_too() {
    let c = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: "ops".into(),
        role: Role::PlatformViewer,
        tenant_id: None,
        iss: "tpgate".into(),
        aud: "tpgate-admin".into(),
        exp: now + 60,
        nbf: Some(now),
        iat: Some(now),
    };
    let key = EncodingKey::from_rsa_pem(RSA1_KEY.as_bytes()).unwrap();
    for alg in [Algorithm::RS384, Algorithm::RS512] {
        let t = jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap();
        assert_eq!(c.verify(&t).await.unwrap().role, Role::PlatformViewer);
    }
    // PS256 is an RSA algorithm too, but not one admin tokens may use.
    let t = jsonwebtoken::encode(&Header::new(Algorithm::PS256), &claims, &key).unwrap();
    assert_eq!(rejection(&c, &t).await, "algorithm not allowed");
}

#[tokio::test]
async fn eddsa_with_a_pem_key() {
    let c = config(
        None,
        keys(pem_sources(&["ed-1.pub.pem", "rsa-1.pub.pem"])).await,
    );
    let t = signed(&c, ED1_KEY, None);
    assert_eq!(
        jsonwebtoken::decode_header(&t).unwrap().alg,
        Algorithm::EdDSA
    );
    c.verify(&t).await.unwrap();
    assert_eq!(
        rejection(&c, &signed(&c, ED2_KEY, None)).await,
        "bad signature"
    );
}

#[tokio::test]
async fn jwks_file_keys_are_picked_by_kid() {
    let c = config(None, keys(jwks_file_sources()).await);
    c.verify(&signed(&c, RSA1_KEY, Some("rsa-1")))
        .await
        .unwrap();
    c.verify(&signed(&c, RSA2_KEY, Some("rsa-2")))
        .await
        .unwrap();
    c.verify(&signed(&c, ED1_KEY, Some("ed-1"))).await.unwrap();
    // Without a kid every key of the kind is tried.
    c.verify(&signed(&c, RSA2_KEY, None)).await.unwrap();
    // The kid picks the key: rsa-2's key is not tried for a token naming rsa-1.
    assert_eq!(
        rejection(&c, &signed(&c, RSA2_KEY, Some("rsa-1"))).await,
        "bad signature"
    );
    assert_eq!(
        rejection(&c, &signed(&c, RSA1_KEY, Some("rsa-9"))).await,
        "unknown key id"
    );
    // rsa-enc is the same key as rsa-2 but published for encryption, so
    // it is not a verification key at all.
    assert_eq!(
        rejection(&c, &signed(&c, RSA2_KEY, Some("rsa-enc"))).await,
        "unknown key id"
    );
}

#[tokio::test]
async fn wrong_key_is_a_bad_signature() {
    let c = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    assert_eq!(
        rejection(&c, &signed(&c, RSA2_KEY, None)).await,
        "bad signature"
    );
}

/// The classic attack: an HS256 token whose HMAC key is the server's RSA
/// public key (which is public). It must never be checked against that key.
#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let forged = |c: &JwtConfig, secret: &[u8], kid: Option<&str>| {
        let forger = JwtConfig {
            hs256_secret: Some(Secret::new(String::from_utf8_lossy(secret))),
            ..c.clone()
        };
        let token = forger
            .mint("mallory", Role::PlatformAdmin, None, hour())
            .unwrap();
        match kid {
            // Re-mint with a kid in the header.
            Some(kid) => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(kid.to_owned());
                let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&token)
                    .unwrap()
                    .claims;
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
            }
            None => token,
        }
    };
    // Only public keys: HS256 is not allowed at all.
    let c = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let t = forged(&c, RSA1_PUB.as_bytes(), None);
    assert_eq!(rejection(&c, &t).await, "algorithm not allowed");
    // With a secret too, HS256 is checked against the secret only.
    let c = config(Some(SECRET), keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let t = forged(&c, RSA1_PUB.as_bytes(), None);
    assert_eq!(rejection(&c, &t).await, "bad signature");
    // A symmetric key published in a JWKS is never used.
    let c = config(None, keys(jwks_file_sources()).await);
    let t = forged(&c, b"a-symmetric-key-that-must-never-verify", Some("oct-1"));
    assert_eq!(rejection(&c, &t).await, "algorithm not allowed");
}

#[tokio::test]
async fn public_key_tokens_need_public_keys() {
    let hs_only = config(Some(SECRET), PublicKeys::none());
    let rs = signed(&hs_only, RSA1_KEY, None);
    assert_eq!(rejection(&hs_only, &rs).await, "algorithm not allowed");
    // RSA keys only: EdDSA is not allowed.
    let rsa_only = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let ed = signed(&rsa_only, ED1_KEY, None);
    assert_eq!(rejection(&rsa_only, &ed).await, "algorithm not allowed");
}

#[tokio::test]
async fn debug_shows_no_secret() {
    let c = config(Some(SECRET), keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let shown = format!("{c:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("fixed_keys: 1"), "{shown}");
}

#[tokio::test]
async fn unusable_sources_fail_loading() {
    let err = |sources: JwtSettings| async move {
        PublicKeys::load(&sources).await.unwrap_err().to_string()
    };
    let missing = err(pem_sources(&["nope.pem"])).await;
    assert!(
        missing.contains("nope.pem") && missing.contains("cannot be read"),
        "{missing}"
    );
    let private = err(pem_sources(&["rsa-1.key.pem"])).await;
    assert!(private.contains("private key"), "{private}");
    let not_pem = err(pem_sources(&["README.md"])).await;
    assert!(not_pem.contains("not an RSA or Ed25519"), "{not_pem}");
    let not_jwks = err(JwtSettings {
        jwks_path: Some(fixture("rsa-1.pub.pem")),
        ..JwtSettings::default()
    })
    .await;
    assert!(not_jwks.contains("not a JWKS document"), "{not_jwks}");
    // Nothing usable in it.
    let server = JwksServer::start(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into()).await;
    let empty = err(server.sources()).await;
    assert!(empty.contains("no RSA or Ed25519 signature key"), "{empty}");
    // Unreachable; the query string (it may hold a token) is not shown.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let unreachable = err(JwtSettings {
        jwks_url: Some(
            format!("http://127.0.0.1:{port}/jwks?access_token=hush")
                .parse()
                .unwrap(),
        ),
        ..JwtSettings::default()
    })
    .await;
    assert!(unreachable.contains("JWKS URL"), "{unreachable}");
    assert!(!unreachable.contains("hush"), "{unreachable}");
}

#[test]
fn redacted_url_drops_credentials_and_query() {
    let url: url::Url = "https://user:pw@idp.example/keys?sig=abc#frag"
        .parse()
        .unwrap();
    assert_eq!(super::keys::redacted(&url), "https://idp.example/keys");
}

/// A JWKS endpoint whose document and health the test controls, counting
/// fetches.
struct JwksServer {
    url: url::Url,
    body: Arc<Mutex<String>>,
    failing: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct ServerState {
    body: Arc<Mutex<String>>,
    failing: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

#[poem::handler]
fn serve_jwks(state: poem::web::Data<&ServerState>) -> poem::Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return poem::Response::builder()
            .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
            .finish();
    }
    poem::Response::builder()
        .content_type("application/json")
        .body(state.body.lock().unwrap().clone())
}

impl JwksServer {
    async fn start(body: String) -> Self {
        use poem::{EndpointExt, listener::Acceptor};
        let state = ServerState {
            body: Arc::new(Mutex::new(body)),
            failing: Arc::new(AtomicBool::new(false)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let acceptor = poem::listener::TcpAcceptor::from_tokio(
            tokio::net::TcpListener::from_std(listener).unwrap(),
        )
        .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = poem::Route::new()
            .at("/jwks", poem::get(serve_jwks))
            .data(state.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self {
            // The query string stands in for a credential some IdPs want.
            url: format!("http://127.0.0.1:{port}/jwks?key=hush")
                .parse()
                .unwrap(),
            body: state.body,
            failing: state.failing,
            hits: state.hits,
        }
    }

    fn sources(&self) -> JwtSettings {
        JwtSettings {
            jwks_url: Some(self.url.clone()),
            ..JwtSettings::default()
        }
    }

    fn publish(&self, kids: &[&str]) {
        *self.body.lock().unwrap() = jwks_with(kids);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The fixture JWKS cut down to `kids`.
fn jwks_with(kids: &[&str]) -> String {
    let mut set: serde_json::Value = serde_json::from_str(JWKS).unwrap();
    set["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| kids.contains(&k["kid"].as_str().unwrap_or_default()));
    set.to_string()
}

#[tokio::test]
async fn jwks_url_refetches_for_a_new_kid_at_most_every_30_s() {
    let server = JwksServer::start(jwks_with(&["rsa-1"])).await;
    let c = config(None, keys(server.sources()).await);
    assert_eq!(server.hits(), 1, "fetched at start");
    c.verify(&signed(&c, RSA1_KEY, Some("rsa-1")))
        .await
        .unwrap();
    assert_eq!(server.hits(), 1, "a known kid needs no fetch");

    // The issuer rotates to rsa-2: its first token makes us refetch.
    server.publish(&["rsa-1", "rsa-2"]);
    c.verify(&signed(&c, RSA2_KEY, Some("rsa-2")))
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);
    c.verify(&signed(&c, RSA2_KEY, Some("rsa-2")))
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);

    // Another new kid within 30 s: no fetch, so unknown for now.
    server.publish(&["rsa-1", "rsa-2", "ed-1"]);
    let ed = signed(&c, ED1_KEY, Some("ed-1"));
    assert_eq!(rejection(&c, &ed).await, "unknown key id");
    assert_eq!(rejection(&c, &ed).await, "unknown key id");
    assert_eq!(server.hits(), 2, "refetch is rate-limited");

    // Once the interval has passed it is fetched (shortened interval here).
    let quick = config(
        None,
        PublicKeys::load_with(&server.sources(), Duration::from_millis(200))
            .await
            .unwrap(),
    );
    let start = server.hits();
    quick.verify(&ed).await.unwrap();
    let new_kid = signed(&c, ED2_KEY, Some("ed-2"));
    assert_eq!(rejection(&quick, &new_kid).await, "unknown key id");
    assert_eq!(server.hits(), start + 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(rejection(&quick, &new_kid).await, "unknown key id");
    assert_eq!(server.hits(), start + 2, "refetched after the interval");
}

#[tokio::test]
async fn jwks_url_is_refreshed_and_a_failed_fetch_keeps_the_last_good_set() {
    let server = JwksServer::start(jwks_with(&["rsa-1"])).await;
    let c = config(
        None,
        keys(JwtSettings {
            jwks_refresh_secs: 1,
            ..server.sources()
        })
        .await,
    );
    // The background refresh picks up ed-1 without any token asking for it
    // (the unknown-kid refetch is spent first, so only the timer can).
    let ed = signed(&c, ED1_KEY, Some("ed-1"));
    assert_eq!(rejection(&c, &ed).await, "unknown key id");
    server.publish(&["rsa-1", "ed-1"]);
    assert_eq!(rejection(&c, &ed).await, "unknown key id");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    c.verify(&ed).await.unwrap();

    server.failing.store(true, Ordering::SeqCst);
    let before = server.hits();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(server.hits() > before, "kept trying");
    c.verify(&signed(&c, RSA1_KEY, Some("rsa-1")))
        .await
        .unwrap();
    c.verify(&ed).await.unwrap();
}

/// RFC 7519: `aud` may be an array, and `nbf` / `iat` may be absent.
#[tokio::test]
async fn audience_arrays_and_tokens_without_nbf_are_accepted() {
    let c = config(None, keys(pem_sources(&["rsa-1.pub.pem"])).await);
    let key = EncodingKey::from_rsa_pem(RSA1_KEY.as_bytes()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = |aud: serde_json::Value, extra: serde_json::Value| {
        let mut claims = serde_json::json!({
            "sub": "idp-user", "role": "platform_viewer", "iss": "tpgate", "aud": aud, "exp": now + 60,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
    };
    let both = token(
        serde_json::json!(["other-api", "tpgate-admin"]),
        serde_json::json!({}),
    );
    assert_eq!(c.verify(&both).await.unwrap().sub, "idp-user");
    let neither = token(serde_json::json!(["other-api"]), serde_json::json!({}));
    assert_eq!(rejection(&c, &neither).await, "wrong audience");
    // nbf, when present, is still checked.
    let later = token(
        serde_json::json!("tpgate-admin"),
        serde_json::json!({ "nbf": now + 3600 }),
    );
    assert_eq!(rejection(&c, &later).await, "not valid yet (nbf)");
}

#[test]
fn minted_lifetimes_are_capped() {
    let c = JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: Some(store::Secret::new("0123456789abcdef0123456789abcdef")),
        public_keys: PublicKeys::none(),
    };
    assert!(
        c.mint("ops", Role::PlatformAdmin, None, chrono::Duration::days(30))
            .is_ok()
    );
    assert!(matches!(
        c.mint("ops", Role::PlatformAdmin, None, chrono::Duration::days(31)),
        Err(JwtError::Mint(_))
    ));
}
