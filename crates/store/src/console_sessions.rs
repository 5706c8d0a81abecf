//! The operator console's one-time sign-in links and browser sessions.
//!
//! Both are rows of `console_sessions`, keyed by a SHA-256 of their token: a
//! leaked table opens no session. A link is redeemed by deleting its row
//! (only the deleter gets the identity, so it works once however many
//! browsers race); a session ends at its absolute expiry, after its idle
//! timeout, or when deleted (sign-out). Whether its tenant or API key still
//! allows it is the caller's check, made on every use.
use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::{
    Secret, Store, StoreError, TenantId, api_keys::hash_key, entity::console_session as row, now,
};

const KIND_SIGN_IN: &str = "sign_in";
const KIND_SESSION: &str = "session";

/// `last_seen_at` is written at most this often per session, so a busy
/// console page does not turn every read into a write.
const TOUCH_EVERY: Duration = Duration::seconds(30);

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInVia {
    /// A one-time link from `tpgate console-login` (or the sandbox).
    Link,
    /// An admin JWT pasted into the sign-in page.
    Jwt,
    /// A tenant API key with an admin scope.
    ApiKey,
}

impl SignedInVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "link" => Ok(Self::Link),
            "jwt" => Ok(Self::Jwt),
            "api_key" => Ok(Self::ApiKey),
            other => Err(StoreError::Invalid {
                what: "console sign-in kind",
                value: other.to_owned(),
            }),
        }
    }
}

/// Who a link or session acts as. `role` is the admin API's role name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleIdentity {
    pub role: String,
    pub subject: String,
    pub tenant_id: Option<TenantId>,
    /// Set when opened with an API key: the key's current scopes and state
    /// decide on every use.
    pub api_key_id: Option<String>,
    pub via: SignedInVia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub identity: ConsoleIdentity,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end; the idle timeout may end it sooner.
    pub expires_at: DateTime<Utc>,
}

/// What a session cookie leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    Active(ConsoleSession),
    /// Unknown, signed out, or ended earlier.
    Unknown,
    /// Past its absolute lifetime or idle for too long; now deleted.
    Expired,
}

/// A fresh token: 32 random bytes, hex (the cookie or the link's code).
fn new_token() -> Secret {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    Secret::new(hex::encode(raw))
}

impl TryFrom<row::Model> for ConsoleIdentity {
    type Error = StoreError;

    fn try_from(m: row::Model) -> Result<Self, StoreError> {
        Ok(Self {
            via: SignedInVia::parse(&m.via)?,
            role: m.role,
            subject: m.subject,
            tenant_id: m.tenant_id.map(Into::into),
            api_key_id: m.api_key_id,
        })
    }
}

impl Store {
    async fn insert_console_row(
        &self,
        kind: &str,
        identity: &ConsoleIdentity,
        expires_at: DateTime<Utc>,
    ) -> Result<(Secret, DateTime<Utc>), StoreError> {
        let token = new_token();
        let at = now();
        row::Entity::insert(row::ActiveModel {
            token_hash: Set(hash_key(token.expose())),
            kind: Set(kind.to_owned()),
            role: Set(identity.role.clone()),
            subject: Set(identity.subject.clone()),
            tenant_id: Set(identity.tenant_id.as_ref().map(|t| t.to_string())),
            api_key_id: Set(identity.api_key_id.clone()),
            via: Set(identity.via.as_str().to_owned()),
            created_at: Set(at),
            last_seen_at: Set(at),
            expires_at: Set(expires_at),
        })
        .exec(self.db())
        .await?;
        Ok((token, at))
    }

    /// A one-time sign-in link's code, valid for `valid_for`.
    pub async fn create_console_sign_in(
        &self,
        identity: &ConsoleIdentity,
        valid_for: Duration,
    ) -> Result<Secret, StoreError> {
        let (code, _) = self
            .insert_console_row(KIND_SIGN_IN, identity, now() + valid_for)
            .await?;
        Ok(code)
    }

    /// Redeems a sign-in code: the identity it was made for, once. An
    /// unknown, used or expired code is `None`.
    pub async fn redeem_console_sign_in(
        &self,
        code: &str,
    ) -> Result<Option<ConsoleIdentity>, StoreError> {
        let hash = hash_key(code);
        let Some(found) = row::Entity::find_by_id(hash.clone())
            .filter(row::Column::Kind.eq(KIND_SIGN_IN))
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        // Deleting is the claim: of two concurrent redeemers only one
        // deletes the row.
        let claimed = row::Entity::delete_many()
            .filter(row::Column::TokenHash.eq(hash))
            .filter(row::Column::Kind.eq(KIND_SIGN_IN))
            .exec(self.db())
            .await?;
        if claimed.rows_affected != 1 || found.expires_at <= now() {
            return Ok(None);
        }
        found.try_into().map(Some)
    }

    /// Opens a session; the token goes into the cookie and nowhere else.
    pub async fn open_console_session(
        &self,
        identity: &ConsoleIdentity,
        expires_at: DateTime<Utc>,
    ) -> Result<(ConsoleSession, Secret), StoreError> {
        let (token, at) = self
            .insert_console_row(KIND_SESSION, identity, expires_at)
            .await?;
        let session = ConsoleSession {
            identity: identity.clone(),
            created_at: at,
            last_seen_at: at,
            expires_at,
        };
        Ok((session, token))
    }

    /// The session behind a cookie, if it is still within its lifetime and
    /// was used less than `idle` ago. Using it keeps it alive; an expired
    /// one is deleted.
    pub async fn console_session(
        &self,
        token: &str,
        idle: Duration,
    ) -> Result<SessionLookup, StoreError> {
        let hash = hash_key(token);
        let Some(found) = row::Entity::find_by_id(hash.clone())
            .filter(row::Column::Kind.eq(KIND_SESSION))
            .one(self.db())
            .await?
        else {
            return Ok(SessionLookup::Unknown);
        };
        let at = now();
        if found.expires_at <= at || found.last_seen_at + idle <= at {
            self.end_console_session(token).await?;
            return Ok(SessionLookup::Expired);
        }
        let mut last_seen_at = found.last_seen_at;
        if at - last_seen_at >= TOUCH_EVERY.min(idle / 4) {
            row::Entity::update_many()
                .col_expr(row::Column::LastSeenAt, sea_orm::sea_query::Expr::value(at))
                .filter(row::Column::TokenHash.eq(hash))
                .exec(self.db())
                .await?;
            last_seen_at = at;
        }
        Ok(SessionLookup::Active(ConsoleSession {
            created_at: found.created_at,
            expires_at: found.expires_at,
            last_seen_at,
            identity: found.try_into()?,
        }))
    }

    /// Ends a session (sign-out, or its tenant or key no longer allows it).
    /// Whether there was one.
    pub async fn end_console_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = row::Entity::delete_many()
            .filter(row::Column::TokenHash.eq(hash_key(token)))
            .filter(row::Column::Kind.eq(KIND_SESSION))
            .exec(self.db())
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Deletes links and sessions past their lifetime, and sessions idle
    /// for longer than `idle` (housekeeping). How many.
    pub async fn purge_console_sessions(&self, idle: Duration) -> Result<u64, StoreError> {
        let at = now();
        let done = row::Entity::delete_many()
            .filter(
                Condition::any().add(row::Column::ExpiresAt.lte(at)).add(
                    Condition::all()
                        .add(row::Column::Kind.eq(KIND_SESSION))
                        .add(row::Column::LastSeenAt.lte(at - idle)),
                ),
            )
            .exec(self.db())
            .await?;
        Ok(done.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store;

    fn identity() -> ConsoleIdentity {
        ConsoleIdentity {
            role: "tenant_admin".into(),
            subject: "alice".into(),
            tenant_id: Some("t1".to_owned().into()),
            api_key_id: None,
            via: SignedInVia::Link,
        }
    }

    #[tokio::test]
    async fn a_sign_in_link_works_once_and_only_in_time() {
        let store = memory_store().await;
        let code = store
            .create_console_sign_in(&identity(), Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(
            store.redeem_console_sign_in(code.expose()).await.unwrap(),
            Some(identity())
        );
        assert_eq!(
            store.redeem_console_sign_in(code.expose()).await.unwrap(),
            None
        );
        assert_eq!(
            store.redeem_console_sign_in("nonsense").await.unwrap(),
            None
        );

        let late = store
            .create_console_sign_in(&identity(), Duration::seconds(-1))
            .await
            .unwrap();
        assert_eq!(
            store.redeem_console_sign_in(late.expose()).await.unwrap(),
            None
        );
        // A link is not a session, nor a session a link.
        let (_, token) = store
            .open_console_session(&identity(), now() + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            store.redeem_console_sign_in(token.expose()).await.unwrap(),
            None
        );
        let code = store
            .create_console_sign_in(&identity(), Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(
            store
                .console_session(code.expose(), Duration::hours(1))
                .await
                .unwrap(),
            SessionLookup::Unknown
        );
    }

    #[tokio::test]
    async fn sessions_end_at_expiry_idleness_or_sign_out() {
        let store = memory_store().await;
        let idle = Duration::minutes(30);
        let (opened, token) = store
            .open_console_session(&identity(), now() + Duration::hours(1))
            .await
            .unwrap();
        let SessionLookup::Active(found) =
            store.console_session(token.expose(), idle).await.unwrap()
        else {
            panic!("the session is active");
        };
        assert_eq!(found.identity, opened.identity);
        assert!(store.end_console_session(token.expose()).await.unwrap());
        assert_eq!(
            store.console_session(token.expose(), idle).await.unwrap(),
            SessionLookup::Unknown
        );

        let (_, past) = store
            .open_console_session(&identity(), now() - Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(
            store.console_session(past.expose(), idle).await.unwrap(),
            SessionLookup::Expired
        );
        assert_eq!(
            store.console_session(past.expose(), idle).await.unwrap(),
            SessionLookup::Unknown,
            "an expired session is deleted"
        );

        let (_, idling) = store
            .open_console_session(&identity(), now() + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            store
                .console_session(idling.expose(), Duration::zero())
                .await
                .unwrap(),
            SessionLookup::Expired
        );
    }

    #[tokio::test]
    async fn purging_keeps_live_sessions() {
        let store = memory_store().await;
        let (_, live) = store
            .open_console_session(&identity(), now() + Duration::hours(1))
            .await
            .unwrap();
        store
            .open_console_session(&identity(), now() - Duration::seconds(1))
            .await
            .unwrap();
        store
            .create_console_sign_in(&identity(), Duration::seconds(-1))
            .await
            .unwrap();
        assert_eq!(
            store
                .purge_console_sessions(Duration::minutes(30))
                .await
                .unwrap(),
            2
        );
        assert!(matches!(
            store
                .console_session(live.expose(), Duration::minutes(30))
                .await
                .unwrap(),
            SessionLookup::Active(_)
        ));
    }
}
