//! Admin JWTs signed with public keys (RS256, EdDSA): keys configured on a
//! real instance as PEM files or a JWKS URL, tokens sent over HTTP.
use std::{
    io::{Read, Write},
    path::PathBuf,
};

use admin_api::{JwtConfig, Role, jwt::PublicKeys};
use serde_json::json;
use url::Url;

use crate::helpers::{TestApp, TestOptions, jwt};

/// Test-only keys shared with admin-api's unit tests.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/admin-api/tests/fixtures")
        .join(name)
}

/// Mints like an external issuer would: same iss/aud as the instance.
fn token(key: &str, kid: Option<&str>, role: Role, tenant_id: Option<&str>) -> String {
    token_for(
        &issuer(),
        key,
        kid,
        role,
        tenant_id,
        chrono::Duration::hours(1),
    )
}

fn token_for(
    issuer: &JwtConfig,
    key: &str,
    kid: Option<&str>,
    role: Role,
    tenant_id: Option<&str>,
    ttl: chrono::Duration,
) -> String {
    let pem = std::fs::read(fixture(key)).unwrap();
    issuer
        .mint_with_pem(&pem, kid, "e2e", role, tenant_id.map(str::to_owned), ttl)
        .unwrap()
}

fn issuer() -> JwtConfig {
    JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: None,
        public_keys: PublicKeys::none(),
    }
}

async fn list_tenants(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(app.url("/admin/v1/tenants"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rs256_and_eddsa_tokens_verified_with_pem_files() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| {
            // Public keys only: no HS256 secret at all.
            c.admin.jwt_secret = None;
            c.admin.jwt_public_key_files = vec![fixture("rsa-1.pub.pem"), fixture("ed-1.pub.pem")];
        }),
        ..TestOptions::default()
    })
    .await;

    let rs256 = token("rsa-1.key.pem", None, Role::PlatformAdmin, None);
    assert_eq!(list_tenants(&app, &rs256).await.status(), 200);
    let eddsa = token("ed-1.key.pem", None, Role::PlatformViewer, None);
    assert_eq!(list_tenants(&app, &eddsa).await.status(), 200);

    let wrong_aud = token_for(
        &JwtConfig {
            audience: "someone-else".into(),
            ..issuer()
        },
        "rsa-1.key.pem",
        None,
        Role::PlatformAdmin,
        None,
        chrono::Duration::hours(1),
    );
    let resp = list_tenants(&app, &wrong_aud).await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
        "{:?}",
        resp.headers()
    );

    let expired = token_for(
        &issuer(),
        "ed-1.key.pem",
        None,
        Role::PlatformAdmin,
        None,
        chrono::Duration::hours(-1),
    );
    assert_eq!(list_tenants(&app, &expired).await.status(), 401);

    // An unconfigured key of a configured kind.
    let other_key = token("rsa-2.key.pem", None, Role::PlatformAdmin, None);
    assert_eq!(list_tenants(&app, &other_key).await.status(), 401);

    // HS256 is not accepted when no secret is configured.
    let hs256 = jwt()
        .mint("e2e", Role::PlatformAdmin, None, chrono::Duration::hours(1))
        .unwrap();
    assert_eq!(list_tenants(&app, &hs256).await.status(), 401);

    // Authenticated, but a tenant_admin may not create tenants.
    let tenant_admin = token("rsa-1.key.pem", None, Role::TenantAdmin, Some("ten_e2e"));
    let resp = app
        .http
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth(&tenant_admin)
        .json(&json!({ "name": "not allowed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    app.shutdown().await;
}

#[tokio::test]
async fn jwks_url_keys_alongside_the_hs256_secret() {
    let jwks = std::fs::read_to_string(fixture("jwks.json")).unwrap();
    let jwks_url = serve_jwks(jwks);
    let app = TestApp::start(TestOptions {
        config: Box::new(move |c| c.admin.jwks_url = Some(jwks_url)),
        ..TestOptions::default()
    })
    .await;

    // The instance's HS256 token still works.
    assert_eq!(list_tenants(&app, &app.admin_token).await.status(), 200);
    for (key, kid) in [
        ("rsa-1.key.pem", "rsa-1"),
        ("rsa-2.key.pem", "rsa-2"),
        ("ed-1.key.pem", "ed-1"),
    ] {
        let t = token(key, Some(kid), Role::PlatformAdmin, None);
        assert_eq!(list_tenants(&app, &t).await.status(), 200, "{kid}");
    }
    // The kid picks the key: rsa-1's signature under rsa-2's kid fails.
    let mismatched = token("rsa-1.key.pem", Some("rsa-2"), Role::PlatformAdmin, None);
    assert_eq!(list_tenants(&app, &mismatched).await.status(), 401);
    let unknown = token("ed-2.key.pem", Some("ed-2"), Role::PlatformAdmin, None);
    let resp = list_tenants(&app, &unknown).await;
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("unknown key id"),
        "{body}"
    );

    app.shutdown().await;
}

/// Serves `body` as the JWKS at the returned URL, for the life of the test
/// process (a plain thread: one short GET at a time is all tpgate sends).
fn serve_jwks(body: String) -> Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!(
        "http://{}/jwks.json",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read the request head (a GET has no body).
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
