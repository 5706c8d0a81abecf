//! Admin JWTs: HS256 with a shared secret, or RS256/EdDSA with public keys
//! (PEM files, a JWKS file, a JWKS URL; see [`PublicKeys`]).
//!
//! Checked: signature, `exp`, `nbf`, `iss`, `aud` (30 s leeway); the `role`
//! claim picks what the caller may do, and `tenant_admin` tokens carry a
//! `tenant_id`. The header's `alg` selects which kind of key may verify the
//! token: HS256 only the secret, RS256/RS384/RS512 only RSA public keys,
//! EdDSA only Ed25519 keys. So a token can never make a public key act as an
//! HMAC secret (algorithm confusion).
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use store::Secret;

mod keys;
#[cfg(test)]
mod tests;

pub use keys::PublicKeys;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    PlatformAdmin,
    /// Read-only on everything.
    PlatformViewer,
    /// Everything within one tenant (`tenant_id` claim).
    TenantAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::PlatformViewer => "platform_viewer",
            Role::TenantAdmin => "tenant_admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Role::PlatformAdmin, Role::PlatformViewer, Role::TenantAdmin]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                "role must be platform_admin, platform_viewer or tenant_admin".to_owned()
            })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub iss: String,
    pub aud: Audience,
    pub exp: i64,
    /// Optional (RFC 7519 §4.1.5); checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// `aud`: one string, or an array of them (RFC 7519 §4.1.3); identity
/// providers send either. Which audience is required is checked by
/// `jsonwebtoken`'s validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl From<&str> for Audience {
    fn from(aud: &str) -> Self {
        Audience::One(aud.to_owned())
    }
}

/// The longest lifetime tpgate mints (`tpgate token`, the sandbox): a
/// leaked bootstrap token must not stay valid for months.
pub const MAX_MINTED_LIFETIME: chrono::Duration = chrono::Duration::days(30);

/// The `admin.*` configuration section: what admin tokens must look like
/// and where the keys verifying them come from. The secret is never
/// serialized.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSettings {
    /// The HS256 secret; see [`JwtSettings::hs256_secret`].
    #[serde(skip_serializing)]
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// PEM public keys (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`); RSA or
    /// Ed25519, told apart by the key itself. They carry no `kid`.
    pub jwt_public_key_files: Vec<std::path::PathBuf>,
    /// A JWKS file, read at start.
    pub jwks_path: Option<std::path::PathBuf>,
    /// A JWKS URL, fetched at start and then every `jwks_refresh_secs`.
    pub jwks_url: Option<url::Url>,
    pub jwks_refresh_secs: u64,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_issuer: "tpgate".into(),
            jwt_audience: "tpgate-admin".into(),
            jwt_public_key_files: Vec::new(),
            jwks_path: None,
            jwks_url: None,
            jwks_refresh_secs: 300,
        }
    }
}

impl JwtSettings {
    /// The HS256 secret, if one is set (an empty value counts as unset, so a
    /// deployment template may leave the variable empty).
    pub fn hs256_secret(&self) -> Option<Secret> {
        self.jwt_secret.clone().filter(|s| !s.expose().is_empty())
    }

    /// Whether any source of RS256/EdDSA keys is configured.
    pub fn has_public_keys(&self) -> bool {
        !self.jwt_public_key_files.is_empty() || self.jwks_path.is_some() || self.jwks_url.is_some()
    }

    pub fn jwks_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.jwks_refresh_secs)
    }
}

/// What admin tokens must look like and the keys that may have signed them.
#[derive(Clone)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    /// HS256 is accepted only when this is set.
    pub hs256_secret: Option<Secret>,
    /// RS256/EdDSA are accepted only for the kinds of key found here.
    pub public_keys: PublicKeys,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "<set>"))
            .field("public_keys", &self.public_keys)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The reason never quotes the token (it may be a live credential).
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error("a tenant_admin token must carry a tenant_id claim")]
    TenantAdminWithoutTenant,
    /// A configured key source cannot be used (start-up).
    #[error("{source_name}: {reason}")]
    KeySource { source_name: String, reason: String },
    #[error("cannot mint a token: {0}")]
    Mint(String),
}

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

impl JwtConfig {
    /// Mints an HS256 token (for `tpgate token` and the sandbox).
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        tenant_id: Option<String>,
        ttl: chrono::Duration,
    ) -> Result<String, JwtError> {
        let secret = self.hs256_secret.as_ref().ok_or_else(|| {
            JwtError::Mint("no HS256 secret is configured (admin.jwt_secret)".into())
        })?;
        let key = EncodingKey::from_secret(secret.expose().as_bytes());
        self.encode(
            &Header::new(Algorithm::HS256),
            &key,
            subject,
            role,
            tenant_id,
            ttl,
        )
    }

    /// Mints a token signed with a PKCS#8 (or PKCS#1 RSA) private key in PEM
    /// form: RS256 for an RSA key, EdDSA for an Ed25519 key. `kid` goes into
    /// the header, to pick the key out of a JWKS.
    pub fn mint_with_pem(
        &self,
        private_key_pem: &[u8],
        kid: Option<&str>,
        subject: &str,
        role: Role,
        tenant_id: Option<String>,
        ttl: chrono::Duration,
    ) -> Result<String, JwtError> {
        // A public key parses as an RSA key too, and would only fail later
        // with an obscure signing error.
        if !String::from_utf8_lossy(private_key_pem).contains("PRIVATE KEY-----") {
            return Err(JwtError::Mint(
                "the key file holds no PEM private key (`-----BEGIN PRIVATE KEY-----`)".into(),
            ));
        }
        let (alg, key) = if let Ok(key) = EncodingKey::from_rsa_pem(private_key_pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = EncodingKey::from_ed_pem(private_key_pem) {
            (Algorithm::EdDSA, key)
        } else {
            return Err(JwtError::Mint(
                "the private key is neither RSA nor Ed25519 (PEM, PKCS#8)".into(),
            ));
        };
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        self.encode(&header, &key, subject, role, tenant_id, ttl)
    }

    fn encode(
        &self,
        header: &Header,
        key: &EncodingKey,
        subject: &str,
        role: Role,
        tenant_id: Option<String>,
        ttl: chrono::Duration,
    ) -> Result<String, JwtError> {
        if ttl > MAX_MINTED_LIFETIME {
            return Err(JwtError::Mint(format!(
                "a lifetime over {} days is refused; mint a shorter token and renew it",
                MAX_MINTED_LIFETIME.num_days()
            )));
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            tenant_id,
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            exp: now + ttl.num_seconds(),
            nbf: Some(now - 5),
            iat: Some(now),
        };
        jsonwebtoken::encode(header, &claims, key).map_err(|e| JwtError::Mint(e.to_string()))
    }

    /// Checks the signature (with a key of the kind the header's `alg`
    /// names), `exp`, `nbf`, `iss`, `aud` and `sub`, and that a tenant_admin
    /// names its tenant.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| JwtError::Invalid(e.kind_description()))?;
        let validation = self.validation(header.alg);
        let claims = match header.alg {
            Algorithm::HS256 => {
                let secret = self
                    .hs256_secret
                    .as_ref()
                    .ok_or_else(|| JwtError::Invalid("algorithm not allowed".into()))?;
                jsonwebtoken::decode::<Claims>(
                    token,
                    &DecodingKey::from_secret(secret.expose().as_bytes()),
                    &validation,
                )
                .map_err(|e| JwtError::Invalid(e.kind_description()))?
                .claims
            }
            alg => {
                self.public_keys
                    .verify(token, alg, header.kid.as_deref(), &validation)
                    .await?
            }
        };
        if claims.role == Role::TenantAdmin && claims.tenant_id.is_none() {
            return Err(JwtError::TenantAdminWithoutTenant);
        }
        Ok(claims)
    }

    /// Only `alg` is allowed: the caller has already picked keys of its kind.
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // `nbf` is optional (RFC 7519) but checked whenever present.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        validation
    }
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for jsonwebtoken::errors::Error {
    /// The reason without echoing token contents.
    fn kind_description(&self) -> String {
        use jsonwebtoken::errors::ErrorKind::*;
        match self.kind() {
            ExpiredSignature => "expired".into(),
            ImmatureSignature => "not valid yet (nbf)".into(),
            InvalidIssuer => "wrong issuer".into(),
            InvalidAudience => "wrong audience".into(),
            InvalidSignature => "bad signature".into(),
            MissingRequiredClaim(c) => format!("missing claim {c}"),
            InvalidAlgorithm => "algorithm not allowed".into(),
            _ => "malformed token".into(),
        }
    }
}
