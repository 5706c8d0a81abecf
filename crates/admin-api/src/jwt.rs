//! Admin JWTs (HS256 for now; RS256/EdDSA keys arrive with the full admin API).
//!
//! Checked: signature, `exp`, `nbf`, `iss`, `aud`; the `role` claim picks
//! what the caller may do, and `tenant_admin` tokens carry a `tenant_id`.
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use store::Secret;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
}

#[derive(Clone)]
pub struct JwtConfig {
    pub hs256_secret: Secret,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error("a tenant_admin token must carry a tenant_id claim")]
    TenantAdminWithoutTenant,
}

impl JwtConfig {
    /// Mints a token (for `tpgate token` and the sandbox).
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        tenant_id: Option<String>,
        ttl: chrono::Duration,
    ) -> Result<String, JwtError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            tenant_id,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl.num_seconds(),
            nbf: now - 5,
            iat: now,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.hs256_secret.expose().as_bytes()),
        )
        .map_err(|e| JwtError::Invalid(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.hs256_secret.expose().as_bytes()),
            &validation,
        )
        .map_err(|e| JwtError::Invalid(e.kind_description()))?;
        if data.claims.role == Role::TenantAdmin && data.claims.tenant_id.is_none() {
            return Err(JwtError::TenantAdminWithoutTenant);
        }
        Ok(data.claims)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: &str) -> JwtConfig {
        JwtConfig {
            hs256_secret: Secret::new(secret),
            issuer: "tpgate".into(),
            audience: "tpgate-admin".into(),
        }
    }

    #[test]
    fn mint_and_verify() {
        let c = config("s3cret-s3cret-s3cret-s3cret-s3cret");
        let t = c
            .mint("ops", Role::PlatformAdmin, None, chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(c.verify(&t).unwrap().role, Role::PlatformAdmin);
        assert!(
            config("other-other-other-other-other-other")
                .verify(&t)
                .is_err()
        );
        let expired = c
            .mint(
                "ops",
                Role::PlatformAdmin,
                None,
                chrono::Duration::hours(-2),
            )
            .unwrap();
        assert!(matches!(c.verify(&expired), Err(JwtError::Invalid(m)) if m == "expired"));
        let mut other_aud = c.clone();
        other_aud.audience = "elsewhere".into();
        let t2 = other_aud
            .mint("ops", Role::PlatformAdmin, None, chrono::Duration::hours(1))
            .unwrap();
        assert!(c.verify(&t2).is_err());
        let tenantless = c
            .mint("t", Role::TenantAdmin, None, chrono::Duration::hours(1))
            .unwrap();
        assert!(matches!(
            c.verify(&tenantless),
            Err(JwtError::TenantAdminWithoutTenant)
        ));
    }
}
