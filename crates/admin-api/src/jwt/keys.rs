//! Public keys for RS256/EdDSA admin tokens: PEM files and a JWKS file, read
//! once at start-up, and a JWKS URL, fetched at start-up and then kept fresh
//! in the background (plus an early refetch when a token names a key id the
//! set does not have yet, which is what a key rotation at the issuer looks
//! like from here).
use std::{
    path::Path,
    sync::{Arc, RwLock, Weak},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use url::Url;

use super::{Claims, JwtError, JwtSettings, KindDescription};

/// The RS256/EdDSA verification keys. Cheap to clone (shared).
#[derive(Clone)]
pub struct PublicKeys {
    fixed: Arc<[VerifyKey]>,
    remote: Option<Arc<RemoteJwks>>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys")
            .field("fixed_keys", &self.fixed.len())
            .field("jwks_url", &self.remote.as_ref().map(|r| r.shown.as_str()))
            .finish()
    }
}

/// At most one refetch per this long is caused by tokens naming an unknown
/// `kid`, so a stream of forged kids cannot hammer the issuer.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// After a failed background refresh, try again this soon (or at the normal
/// period if that is shorter) rather than a full period later.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// A JWKS is a few kilobytes; anything far bigger is not one.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    /// The kind of key a header `alg` may be verified with; `None` for
    /// algorithms public keys are never used for here.
    fn for_alg(alg: Algorithm) -> Option<Self> {
        match alg {
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => Some(Self::Rsa),
            Algorithm::EdDSA => Some(Self::Ed25519),
            _ => None,
        }
    }
}

#[derive(Clone)]
struct VerifyKey {
    kid: Option<String>,
    key_type: KeyType,
    /// A JWK's own `alg`, which then is the only one it may verify.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl VerifyKey {
    fn accepts(&self, alg: Algorithm) -> bool {
        KeyType::for_alg(alg) == Some(self.key_type) && self.alg.is_none_or(|a| a == alg)
    }
}

struct RemoteJwks {
    url: Url,
    /// The URL without credentials, query or fragment (they may hold tokens):
    /// what logs and errors show.
    shown: String,
    http: reqwest::Client,
    keys: RwLock<Arc<[VerifyKey]>>,
    /// Serialises unknown-kid refetches and remembers when the last one ran.
    kid_refetch: tokio::sync::Mutex<Option<Instant>>,
    kid_refetch_interval: Duration,
}

impl PublicKeys {
    /// No public keys: only HS256 tokens can be verified.
    pub fn none() -> Self {
        Self {
            fixed: Arc::from(Vec::new()),
            remote: None,
        }
    }

    /// Reads the PEM files and the JWKS file and fetches the JWKS URL of
    /// `settings`; any of them failing is an error, so a misconfiguration
    /// stops start-up. The URL is then refetched every `jwks_refresh_secs` by
    /// a background task (which ends once every clone of the returned value
    /// is dropped).
    pub async fn load(settings: &JwtSettings) -> Result<PublicKeys, JwtError> {
        Self::load_with(settings, UNKNOWN_KID_REFETCH_INTERVAL).await
    }

    pub(super) async fn load_with(
        settings: &JwtSettings,
        kid_refetch_interval: Duration,
    ) -> Result<PublicKeys, JwtError> {
        let mut fixed = Vec::new();
        for path in &settings.jwt_public_key_files {
            fixed.push(key_from_pem_file(path).await?);
        }
        if let Some(path) = &settings.jwks_path {
            let source_name = format!("JWKS file {}", path.display());
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| key_source(&source_name, format!("cannot be read: {e}")))?;
            fixed.extend(parse_jwks(&bytes).map_err(|reason| key_source(&source_name, reason))?);
        }
        let remote = match &settings.jwks_url {
            Some(url) => Some(
                RemoteJwks::start(url.clone(), settings.jwks_refresh(), kid_refetch_interval)
                    .await?,
            ),
            None => None,
        };
        Ok(Self {
            fixed: Arc::from(fixed),
            remote,
        })
    }

    /// True when no source is configured (HS256-only).
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.remote.is_none()
    }

    /// Verifies `token` (whose header says `alg` and maybe `kid`) with the
    /// keys of the kind `alg` needs: those with that `kid` and those without
    /// one (PEM files), or every such key when the token names none.
    pub(super) async fn verify(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
        validation: &Validation,
    ) -> Result<Claims, JwtError> {
        if KeyType::for_alg(alg).is_none() {
            return Err(invalid("algorithm not allowed"));
        }
        let mut refetched = false;
        loop {
            let remote_keys = self.remote.as_ref().map(|r| r.current());
            let keys = self
                .fixed
                .iter()
                .chain(remote_keys.iter().flat_map(|k| k.iter()));
            match try_keys(keys, token, alg, kid, validation) {
                Attempt::Done(result) => return result,
                Attempt::NoKeyVerified {
                    kind_known,
                    kid_known,
                } => {
                    if let Some(kid) = kid
                        && !kid_known
                        && !refetched
                        && let Some(remote) = &self.remote
                        && remote.refetch_for_unknown_kid(kid).await
                    {
                        refetched = true;
                        continue;
                    }
                    let kid_unknown = kid.is_some() && !kid_known;
                    return Err(invalid(match (kind_known, kid_unknown) {
                        // The URL's set may gain that kind of key with the
                        // kid, so the kid is the news.
                        (false, true) if self.remote.is_some() => "unknown key id",
                        (false, _) => "algorithm not allowed",
                        (true, true) => "unknown key id",
                        (true, false) => "bad signature",
                    }));
                }
            }
        }
    }
}

enum Attempt {
    /// A key's signature matched: these are the claims or why they fail.
    /// Or the token is malformed, which no other key would change.
    Done(Result<Claims, JwtError>),
    NoKeyVerified {
        /// Some key may verify `alg` at all.
        kind_known: bool,
        /// Some key carries the token's `kid`.
        kid_known: bool,
    },
}

fn try_keys<'a>(
    keys: impl Iterator<Item = &'a VerifyKey>,
    token: &str,
    alg: Algorithm,
    kid: Option<&str>,
    validation: &Validation,
) -> Attempt {
    let mut kind_known = false;
    let mut kid_known = false;
    for key in keys {
        let same_kid = kid.is_some() && key.kid.as_deref() == kid;
        kid_known |= same_kid;
        if !key.accepts(alg) {
            continue;
        }
        kind_known = true;
        if kid.is_some() && !same_kid && key.kid.is_some() {
            continue;
        }
        match jsonwebtoken::decode::<Claims>(token, &key.key, validation) {
            Ok(data) => return Attempt::Done(Ok(data.claims)),
            // Not this key: try the next one.
            Err(e) if signature_mismatch(e.kind()) => {}
            Err(e) => return Attempt::Done(Err(invalid(&e.kind_description()))),
        }
    }
    Attempt::NoKeyVerified {
        kind_known,
        kid_known,
    }
}

fn signature_mismatch(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidSignature
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidKeyFormat
    )
}

impl RemoteJwks {
    async fn start(
        url: Url,
        refresh: Duration,
        kid_refetch_interval: Duration,
    ) -> Result<Arc<Self>, JwtError> {
        let shown = redacted(&url);
        let source_name = format!("JWKS URL {shown}");
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| key_source(&source_name, format!("HTTP client: {e}")))?;
        let keys = fetch_jwks(&http, &url)
            .await
            .map_err(|reason| key_source(&source_name, reason))?;
        let remote = Arc::new(Self {
            url,
            shown,
            http,
            keys: RwLock::new(keys),
            kid_refetch: tokio::sync::Mutex::new(None),
            kid_refetch_interval,
        });
        // Zero would spin.
        spawn_refresher(Arc::downgrade(&remote), refresh.max(Duration::from_secs(1)));
        Ok(remote)
    }

    fn current(&self) -> Arc<[VerifyKey]> {
        // A panic elsewhere while holding the lock cannot leave a half-written
        // Arc behind, so a poisoned lock still holds a usable set.
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn has_kid(&self, kid: &str) -> bool {
        self.current().iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Fetches the set; on failure keeps the last good one. True on success.
    async fn refresh(&self) -> bool {
        match fetch_jwks(&self.http, &self.url).await {
            Ok(keys) => {
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
                true
            }
            Err(reason) => {
                tracing::warn!(
                    jwks_url = %self.shown,
                    error = %reason,
                    "JWKS fetch failed; keeping the last good key set"
                );
                false
            }
        }
    }

    /// Refetches because a token names `kid`, unless another refetch ran in
    /// the last `kid_refetch_interval`. True when the set now has `kid`.
    async fn refetch_for_unknown_kid(&self, kid: &str) -> bool {
        let mut last = self.kid_refetch.lock().await;
        // A concurrent request may have fetched it while this one waited.
        if self.has_kid(kid) {
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < self.kid_refetch_interval) {
            return false;
        }
        *last = Some(Instant::now());
        self.refresh().await && self.has_kid(kid)
    }
}

fn spawn_refresher(remote: Weak<RemoteJwks>, every: Duration) {
    tokio::spawn(async move {
        let mut wait = every;
        loop {
            tokio::time::sleep(wait).await;
            let Some(remote) = remote.upgrade() else {
                break;
            };
            wait = if remote.refresh().await {
                every
            } else {
                every.min(RETRY_AFTER_FAILURE)
            };
        }
    });
}

/// Fetches and parses a JWKS; the error names no URL (the caller does, redacted).
async fn fetch_jwks(http: &reqwest::Client, url: &Url) -> Result<Arc<[VerifyKey]>, String> {
    let mut resp = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(describe_http_error)?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(describe_http_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Arc::from(parse_jwks(&body)?))
}

/// reqwest's message names the URL, query string included: drop it, and
/// keep the causes (its own message alone is just "error sending request").
fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The usable keys of a JWKS document: RSA and Ed25519 signing keys. Others
/// (EC, symmetric `oct`, encryption keys, keys for other algorithms) are
/// skipped rather than failing the set, since issuers publish them side by
/// side; a set with no usable key at all is an error, so a broken document
/// never replaces a good set.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    // serde_json's message may quote the document; position and category
    // are enough to find the problem.
    let raw: RawSet = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a JWKS document ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    let mut keys = Vec::new();
    for (index, value) in raw.keys.into_iter().enumerate() {
        let jwk = match serde_json::from_value::<Jwk>(value) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::warn!(index, category = ?e.classify(), "skipping a JWK that does not parse");
                continue;
            }
        };
        match key_from_jwk(&jwk) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {
                tracing::debug!(index, kid = ?jwk.common.key_id, "skipping a JWK not usable for admin tokens");
            }
            Err(e) => {
                tracing::warn!(index, kid = ?jwk.common.key_id, error = %e, "skipping a malformed JWK");
            }
        }
    }
    if keys.is_empty() {
        return Err("it holds no RSA or Ed25519 signature key".into());
    }
    Ok(keys)
}

fn key_from_jwk(jwk: &Jwk) -> Result<Option<VerifyKey>, jsonwebtoken::errors::Error> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return Ok(None);
    }
    let key_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyType::Rsa,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyType::Ed25519
        }
        // Notably `oct`: a JWKS must never smuggle in an HMAC secret.
        _ => return Ok(None),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(declared) => match Algorithm::try_from(declared) {
            Ok(alg) if KeyType::for_alg(alg) == Some(key_type) => Some(alg),
            _ => return Ok(None),
        },
    };
    Ok(Some(VerifyKey {
        kid: jwk.common.key_id.clone(),
        key_type,
        alg,
        key: DecodingKey::from_jwk(jwk)?,
    }))
}

async fn key_from_pem_file(path: &Path) -> Result<VerifyKey, JwtError> {
    let source_name = format!("public key file {}", path.display());
    let pem = tokio::fs::read(path)
        .await
        .map_err(|e| key_source(&source_name, format!("cannot be read: {e}")))?;
    // jsonwebtoken would take an RSA private key as a "public" one; say what
    // is wrong instead (and that a private key does not belong here).
    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY-----") {
        return Err(key_source(
            &source_name,
            "holds a private key; give its public half (`openssl pkey -in KEY -pubout`)".into(),
        ));
    }
    let (key_type, key) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        (KeyType::Rsa, key)
    } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
        (KeyType::Ed25519, key)
    } else {
        return Err(key_source(
            &source_name,
            "is not an RSA or Ed25519 public key in PEM form".into(),
        ));
    };
    Ok(VerifyKey {
        kid: None,
        key_type,
        alg: None,
        key,
    })
}

/// `url` without user info, query or fragment.
pub(super) fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

fn key_source(source_name: &str, reason: String) -> JwtError {
    JwtError::KeySource {
        source_name: source_name.to_owned(),
        reason,
    }
}

fn invalid(reason: &str) -> JwtError {
    JwtError::Invalid(reason.to_owned())
}
