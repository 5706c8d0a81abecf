//! Authorizers: Mini Programs that authorized the platform, their sealed
//! tokens and granted permission sets (funcscope ids).
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, sea_query::ExprTrait,
};

use crate::{
    Appid, Secret, Store, StoreError, TenantId,
    entity::{authorizer, authorizer_funcscope as funcscope},
    events::{NewEvent, insert_event},
    now,
};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_REVOKED: &str = "revoked";
pub const STATUS_REAUTHORIZATION_REQUIRED: &str = "reauthorization_required";

/// Where an authorization stands. Stored as its name; a stored name this
/// version does not know is an error, never read as `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizerStatus {
    Active,
    /// The account (at WeChat) or an operator ended it.
    Revoked,
    /// WeChat refused the refresh token and no other could be found.
    ReauthorizationRequired,
}

impl AuthorizerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizerStatus::Active => STATUS_ACTIVE,
            AuthorizerStatus::Revoked => STATUS_REVOKED,
            AuthorizerStatus::ReauthorizationRequired => STATUS_REAUTHORIZATION_REQUIRED,
        }
    }
}

impl std::fmt::Display for AuthorizerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthorizerStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            STATUS_ACTIVE => Ok(AuthorizerStatus::Active),
            STATUS_REVOKED => Ok(AuthorizerStatus::Revoked),
            STATUS_REAUTHORIZATION_REQUIRED => Ok(AuthorizerStatus::ReauthorizationRequired),
            other => Err(StoreError::Invalid {
                what: "authorizer status",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

pub(crate) fn refresh_purpose(appid: &str) -> String {
    format!("authorizer.refresh_token:{appid}")
}

pub(crate) fn access_purpose(appid: &str) -> String {
    format!("authorizer.access_token:{appid}")
}

/// What `api_query_auth` told us about one authorization.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub appid: String,
    pub refresh_token: Secret,
    pub access_token: Option<(Secret, DateTime<Utc>)>,
    pub funcscopes: BTreeSet<i64>,
}

/// An authorizer moved between tenants, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAuthorizer {
    pub from_tenant: Option<TenantId>,
    pub authorizer: AuthorizerInfo,
}

impl MovedAuthorizer {
    /// What each tenant concerned may learn of the move, as (tenant, detail):
    /// each side sees the move, never which tenant is on the other side
    /// (the platform sees both). One view when nothing actually moved.
    pub fn views(&self) -> Vec<(Option<TenantId>, serde_json::Value)> {
        let to = self.authorizer.tenant_id.clone();
        if self.from_tenant == to {
            return vec![(to, serde_json::json!({ "moved": "to the same tenant" }))];
        }
        vec![
            (
                to,
                serde_json::json!({
                    "direction": "in",
                    "from_tenant_id": self.from_tenant.as_ref().map(|_| "another tenant"),
                }),
            ),
            (
                self.from_tenant.clone(),
                serde_json::json!({ "direction": "out", "to_tenant_id": "another tenant" }),
            ),
        ]
    }
}

/// An authorizer as the rest of tpgate sees it: no token material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerInfo {
    pub appid: Appid,
    pub tenant_id: Option<TenantId>,
    pub status: AuthorizerStatus,
    pub funcscopes: BTreeSet<i64>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub token_refreshed_at: Option<DateTime<Utc>>,
    pub nick_name: Option<String>,
    /// Original id (`gh_…`).
    pub user_name: Option<String>,
    pub principal_name: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub authorized_at: DateTime<Utc>,
    pub version: i64,
}

/// Which authorizers a listing returns.
#[derive(Debug, Clone, Default)]
pub struct AuthorizerFilter {
    pub tenant_id: Option<String>,
    pub status: Option<String>,
    /// Only those that granted this funcscope id.
    pub permission_set: Option<i64>,
    /// Substring of the Mini Program's name.
    pub name_contains: Option<String>,
}

/// The account profile from `api_get_authorizer_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerProfile {
    pub nick_name: Option<String>,
    pub user_name: Option<String>,
    pub principal_name: Option<String>,
}

/// Outcome of storing an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAuthorization {
    /// New authorizer, or re-authorized under the same tenant.
    Stored,
    /// Tokens and sets updated, but the Mini Program already belongs to
    /// another tenant, which it keeps (moving it is an operator decision).
    OwnedByOtherTenant { owner: String },
    /// The event given with it was already recorded: a repeated push.
    /// Nothing was changed.
    Duplicate,
}

/// Outcome of a status change that records an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// Changed; the event was recorded for this tenant.
    Changed { tenant_id: Option<String> },
    /// The event was already recorded (a repeated push); nothing changed.
    Duplicate,
    /// No such authorizer, or its version moved on (it was re-authorized
    /// meanwhile); nothing changed.
    Unchanged,
}

/// The token state read before a refresh, to compare-and-set against.
#[derive(Debug, Clone)]
pub struct AuthorizerTokens {
    pub status: AuthorizerStatus,
    /// Empty once the authorization was revoked (the token is dropped).
    pub refresh_token: Secret,
    pub access_token: Option<(Secret, DateTime<Utc>)>,
    /// When the access token was last written (any replica).
    pub refreshed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// The heart of the token design: writes `change` to `appid` only if
/// nothing was written since `expected_version`, moving the version on in
/// the same statement. Every token or status write goes through here, so a
/// writer that read an older version (a stalled refresh, a lost race)
/// changes nothing and learns it (`false`) instead of overwriting a newer
/// token.
async fn write_if_version<C: sea_orm::ConnectionTrait>(
    conn: &C,
    appid: &str,
    expected_version: i64,
    mut change: authorizer::ActiveModel,
) -> Result<bool, StoreError> {
    change.version = Set(expected_version + 1);
    change.updated_at = Set(now());
    let result = authorizer::Entity::update_many()
        .set(change)
        .filter(authorizer::Column::Appid.eq(appid))
        .filter(authorizer::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

impl Store {
    /// Stores (or re-stores) an authorization in one transaction: tokens,
    /// status back to active, and the granted sets replaced by `funcscopes`.
    /// The tenant is set only when the authorizer has none yet. `event` is
    /// recorded in the same transaction, for the owning tenant; if it was
    /// recorded before, nothing changes ([`StoredAuthorization::Duplicate`]).
    pub async fn store_authorization(
        &self,
        tenant_id: Option<&str>,
        auth: &Authorization,
        event: Option<NewEvent>,
    ) -> Result<StoredAuthorization, StoreError> {
        let result = self
            .store_authorization_uncached(tenant_id, auth, event)
            .await;
        self.forget_authorizer(&auth.appid);
        result
    }

    async fn store_authorization_uncached(
        &self,
        tenant_id: Option<&str>,
        auth: &Authorization,
        event: Option<NewEvent>,
    ) -> Result<StoredAuthorization, StoreError> {
        let txn = self.db().begin().await?;
        let existing = authorizer::Entity::find_by_id(auth.appid.clone())
            .one(&txn)
            .await?;
        let at = now();
        let refresh_sealed = self
            .sealer()
            .seal(&refresh_purpose(&auth.appid), &auth.refresh_token);
        let (access_sealed, expires_at) = match &auth.access_token {
            Some((token, expires_at)) => (
                Some(self.sealer().seal(&access_purpose(&auth.appid), token)),
                Some(*expires_at),
            ),
            None => (None, None),
        };
        let outcome = match existing {
            None => {
                authorizer::Entity::insert(authorizer::ActiveModel {
                    appid: Set(auth.appid.clone()),
                    tenant_id: Set(tenant_id.map(str::to_owned)),
                    status: Set(STATUS_ACTIVE.to_owned()),
                    refresh_token_sealed: Set(refresh_sealed),
                    access_token_sealed: Set(access_sealed),
                    access_token_expires_at: Set(expires_at),
                    token_refreshed_at: Set(Some(at)),
                    version: Set(1),
                    nick_name: Set(None),
                    user_name: Set(None),
                    principal_name: Set(None),
                    // Just authorized: count as active so the sweep keeps
                    // its token warm until the tenant's first call.
                    last_used_at: Set(Some(at)),
                    authorized_at: Set(at),
                    updated_at: Set(at),
                })
                .exec(&txn)
                .await?;
                (tenant_id.map(str::to_owned), StoredAuthorization::Stored)
            }
            Some(row) => {
                let (owner, outcome) = match (&row.tenant_id, tenant_id) {
                    (Some(current), Some(new)) if current != new => (
                        Some(current.clone()),
                        StoredAuthorization::OwnedByOtherTenant {
                            owner: current.clone(),
                        },
                    ),
                    (Some(current), _) => (Some(current.clone()), StoredAuthorization::Stored),
                    (None, new) => (new.map(str::to_owned), StoredAuthorization::Stored),
                };
                authorizer::Entity::update_many()
                    .set(authorizer::ActiveModel {
                        tenant_id: Set(owner.clone()),
                        status: Set(STATUS_ACTIVE.to_owned()),
                        refresh_token_sealed: Set(refresh_sealed),
                        access_token_sealed: Set(access_sealed),
                        access_token_expires_at: Set(expires_at),
                        token_refreshed_at: Set(Some(at)),
                        authorized_at: Set(at),
                        updated_at: Set(at),
                        ..Default::default()
                    })
                    // In SQL, not from the row read above: a refresh that
                    // committed in between must not leave two writes with
                    // the same version.
                    .col_expr(
                        authorizer::Column::Version,
                        sea_orm::sea_query::Expr::col(authorizer::Column::Version).add(1),
                    )
                    .filter(authorizer::Column::Appid.eq(auth.appid.clone()))
                    .exec(&txn)
                    .await?;
                (owner, outcome)
            }
        };
        let (owner, outcome) = outcome;
        if let Some(mut event) = event {
            event.tenant_id = owner.map(TenantId::from);
            if !insert_event(&txn, &event).await? {
                txn.rollback().await?;
                return Ok(StoredAuthorization::Duplicate);
            }
        }
        funcscope::Entity::delete_many()
            .filter(funcscope::Column::Appid.eq(auth.appid.clone()))
            .exec(&txn)
            .await?;
        if !auth.funcscopes.is_empty() {
            funcscope::Entity::insert_many(auth.funcscopes.iter().map(|id| {
                funcscope::ActiveModel {
                    appid: Set(auth.appid.clone()),
                    funcscope_id: Set(*id),
                }
            }))
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    async fn funcscopes_of(&self, appids: &[String]) -> Result<Vec<funcscope::Model>, StoreError> {
        Ok(funcscope::Entity::find()
            .filter(funcscope::Column::Appid.is_in(appids.iter().cloned()))
            .all(self.db())
            .await?)
    }

    fn info(
        row: authorizer::Model,
        funcscopes: BTreeSet<i64>,
    ) -> Result<AuthorizerInfo, StoreError> {
        Ok(AuthorizerInfo {
            funcscopes,
            status: row.status.parse()?,
            appid: row.appid.into(),
            tenant_id: row.tenant_id.map(Into::into),
            access_token_expires_at: row.access_token_expires_at,
            token_refreshed_at: row.token_refreshed_at,
            nick_name: row.nick_name,
            user_name: row.user_name,
            principal_name: row.principal_name,
            last_used_at: row.last_used_at,
            authorized_at: row.authorized_at,
            version: row.version,
        })
    }

    pub async fn authorizer(&self, appid: &str) -> Result<Option<AuthorizerInfo>, StoreError> {
        let Some(row) = authorizer::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let grants = self.funcscopes_of(std::slice::from_ref(&row.appid)).await?;
        Self::info(row, grants.into_iter().map(|g| g.funcscope_id).collect()).map(Some)
    }

    /// [`Store::authorizer`] through this replica's cache (see `cache`).
    pub async fn cached_authorizer(
        &self,
        appid: &str,
    ) -> Result<Option<AuthorizerInfo>, StoreError> {
        if let Some(entry) = self.cache.authorizers.get(&appid.to_owned()) {
            return Ok(entry);
        }
        let epoch = self.cache.epoch();
        // Boxed, as in `cached_tenant_for_api_key`: only a miss pays for it.
        let entry = Box::pin(self.authorizer(appid)).await?;
        self.cache
            .insert_authorizer(epoch, appid.to_owned(), entry.clone());
        Ok(entry)
    }

    /// Forgets `appid`'s cached state after a write that changed it (inside
    /// an audited change: everything, once it commits).
    fn forget_authorizer(&self, appid: &str) {
        match &self.forget_after_commit {
            Some(pending) => pending.store(true, std::sync::atomic::Ordering::Relaxed),
            None => self.cache.forget_authorizer(appid),
        }
    }

    /// One page of authorizers by appid, after `after`, matching `filter`.
    pub async fn list_authorizers_page(
        &self,
        filter: &AuthorizerFilter,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuthorizerInfo>, StoreError> {
        let mut query = authorizer::Entity::find().order_by_asc(authorizer::Column::Appid);
        if let Some(after) = after {
            query = query.filter(authorizer::Column::Appid.gt(after));
        }
        if let Some(tenant_id) = &filter.tenant_id {
            query = query.filter(authorizer::Column::TenantId.eq(tenant_id.as_str()));
        }
        if let Some(status) = &filter.status {
            query = query.filter(authorizer::Column::Status.eq(status.as_str()));
        }
        if let Some(name) = &filter.name_contains {
            query = query.filter(crate::contains_ignoring_case(
                authorizer::Column::NickName,
                name,
            ));
        }
        if let Some(set) = filter.permission_set {
            query = query.filter(
                authorizer::Column::Appid.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(funcscope::Column::Appid)
                        .from(funcscope::Entity)
                        .and_where(funcscope::Column::FuncscopeId.eq(set))
                        .to_owned(),
                ),
            );
        }
        let rows = query.limit(limit).all(self.db()).await?;
        let appids: Vec<String> = rows.iter().map(|r| r.appid.clone()).collect();
        let grants = if appids.is_empty() {
            Vec::new()
        } else {
            self.funcscopes_of(&appids).await?
        };
        // Grouped once: a page of 200 with their grants was 200 scans of
        // every grant of the page.
        let mut by_appid: HashMap<String, BTreeSet<i64>> = HashMap::new();
        for g in grants {
            by_appid.entry(g.appid).or_default().insert(g.funcscope_id);
        }
        rows.into_iter()
            .map(|r| {
                let funcscopes = by_appid.remove(&r.appid).unwrap_or_default();
                Self::info(r, funcscopes)
            })
            .collect()
    }

    /// Gives an authorizer to another tenant (an operator decision, e.g.
    /// after a merchant changed SaaS accounts). The tenant must exist.
    pub async fn move_authorizer(
        &self,
        appid: &str,
        to_tenant: &str,
    ) -> Result<MovedAuthorizer, StoreError> {
        if self.tenant(to_tenant).await?.is_none() {
            return Err(StoreError::NotFound("tenant"));
        }
        let from_tenant = authorizer::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?
            .ok_or(StoreError::NotFound("authorizer"))?
            .tenant_id;
        let result = authorizer::Entity::update_many()
            .set(authorizer::ActiveModel {
                tenant_id: Set(Some(to_tenant.to_owned())),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(authorizer::Column::Appid.eq(appid))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("authorizer"));
        }
        self.forget_cached_everywhere().await;
        let authorizer = self
            .authorizer(appid)
            .await?
            .ok_or(StoreError::NotFound("authorizer"))?;
        Ok(MovedAuthorizer {
            from_tenant: from_tenant.map(TenantId::from),
            authorizer,
        })
    }

    /// Notes that `appid`'s token was replaced by force at `at` (beside the
    /// token's own row, so it never touches its version).
    pub async fn note_forced_refresh(
        &self,
        appid: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::entity::authorizer_forced_refresh as forced;
        forced::Entity::insert(forced::ActiveModel {
            appid: Set(appid.to_owned()),
            refreshed_at: Set(at),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(forced::Column::Appid)
                .update_column(forced::Column::RefreshedAt)
                .to_owned(),
        )
        .exec(self.db())
        .await?;
        Ok(())
    }

    /// When `appid`'s token was last replaced by force, if ever.
    pub async fn last_forced_refresh(
        &self,
        appid: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        use crate::entity::authorizer_forced_refresh as forced;
        Ok(forced::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?
            .map(|r| r.refreshed_at))
    }

    pub async fn authorizer_tokens(
        &self,
        appid: &str,
    ) -> Result<Option<AuthorizerTokens>, StoreError> {
        let Some(row) = authorizer::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let access_token = match (&row.access_token_sealed, row.access_token_expires_at) {
            (Some(sealed), Some(expires_at)) => Some((
                self.sealer().open(&access_purpose(appid), sealed)?,
                expires_at,
            )),
            _ => None,
        };
        Ok(Some(AuthorizerTokens {
            status: row.status.parse()?,
            refresh_token: self
                .sealer()
                .open(&refresh_purpose(appid), &row.refresh_token_sealed)?,
            access_token,
            refreshed_at: row.token_refreshed_at,
            version: row.version,
        }))
    }

    /// Compare-and-set on `version`: stores a refreshed access token and
    /// whatever refresh token WeChat returned, in one write, only if nobody
    /// wrote since `expected_version`. Returns whether it won. `refreshed_at`
    /// is when the caller asked WeChat (its clock decides cool-downs).
    pub async fn save_authorizer_tokens(
        &self,
        appid: &str,
        expected_version: i64,
        access_token: &Secret,
        expires_at: DateTime<Utc>,
        refresh_token: &Secret,
        refreshed_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        write_if_version(
            self.db(),
            appid,
            expected_version,
            authorizer::ActiveModel {
                access_token_sealed: Set(Some(
                    self.sealer().seal(&access_purpose(appid), access_token),
                )),
                access_token_expires_at: Set(Some(expires_at)),
                refresh_token_sealed: Set(self
                    .sealer()
                    .seal(&refresh_purpose(appid), refresh_token)),
                token_refreshed_at: Set(Some(refreshed_at)),
                ..Default::default()
            },
        )
        .await
    }

    /// `unauthorized`: marks the authorizer revoked and drops its tokens
    /// (access token cleared, refresh token replaced by an empty one), with
    /// `event` in the same transaction.
    pub async fn revoke_authorizer(
        &self,
        appid: &str,
        event: NewEvent,
    ) -> Result<StatusChange, StoreError> {
        self.change_status(appid, STATUS_REVOKED, None, true, event)
            .await
    }

    /// An operator's revocation: only if nothing was written since
    /// `expected_version` (a concurrent re-authorization wins; the operator
    /// reads again and decides).
    pub async fn revoke_authorizer_at(
        &self,
        appid: &str,
        expected_version: i64,
        event: NewEvent,
    ) -> Result<StatusChange, StoreError> {
        self.change_status(appid, STATUS_REVOKED, Some(expected_version), true, event)
            .await
    }

    /// The refresh token was refused (61023) and could not be recovered:
    /// stop calling WeChat for this authorizer until it authorizes again.
    /// Only if nothing was written since `expected_version` (a concurrent
    /// re-authorization wins).
    pub async fn require_reauthorization(
        &self,
        appid: &str,
        expected_version: i64,
        event: NewEvent,
    ) -> Result<StatusChange, StoreError> {
        self.change_status(
            appid,
            STATUS_REAUTHORIZATION_REQUIRED,
            Some(expected_version),
            false,
            event,
        )
        .await
    }

    async fn change_status(
        &self,
        appid: &str,
        status: &str,
        expected_version: Option<i64>,
        drop_tokens: bool,
        event: NewEvent,
    ) -> Result<StatusChange, StoreError> {
        let result = self
            .change_status_uncached(appid, status, expected_version, drop_tokens, event)
            .await;
        // A revoked authorization must stop working on every replica now.
        self.forget_cached_everywhere().await;
        result
    }

    async fn change_status_uncached(
        &self,
        appid: &str,
        status: &str,
        expected_version: Option<i64>,
        drop_tokens: bool,
        mut event: NewEvent,
    ) -> Result<StatusChange, StoreError> {
        let txn = self.db().begin().await?;
        let Some(row) = authorizer::Entity::find_by_id(appid.to_owned())
            .one(&txn)
            .await?
        else {
            return Ok(StatusChange::Unchanged);
        };
        if expected_version.is_some_and(|v| v != row.version) {
            return Ok(StatusChange::Unchanged);
        }
        let mut update = authorizer::ActiveModel {
            status: Set(status.to_owned()),
            access_token_sealed: Set(None),
            access_token_expires_at: Set(None),
            ..Default::default()
        };
        if drop_tokens {
            update.refresh_token_sealed = Set(self
                .sealer()
                .seal(&refresh_purpose(appid), &Secret::new("")));
        }
        if !write_if_version(&txn, appid, row.version, update).await? {
            return Ok(StatusChange::Unchanged);
        }
        event.tenant_id = row.tenant_id.clone().map(TenantId::from);
        if !insert_event(&txn, &event).await? {
            txn.rollback().await?;
            return Ok(StatusChange::Duplicate);
        }
        txn.commit().await?;
        Ok(StatusChange::Changed {
            tenant_id: row.tenant_id,
        })
    }

    /// Replaces the refresh token (recovered from api_get_authorizer_list)
    /// if nothing was written since `expected_version`.
    pub async fn replace_refresh_token(
        &self,
        appid: &str,
        expected_version: i64,
        refresh_token: &Secret,
    ) -> Result<bool, StoreError> {
        write_if_version(
            self.db(),
            appid,
            expected_version,
            authorizer::ActiveModel {
                refresh_token_sealed: Set(self
                    .sealer()
                    .seal(&refresh_purpose(appid), refresh_token)),
                ..Default::default()
            },
        )
        .await
    }

    /// Name, gh_ id and principal from api_get_authorizer_info. Not a token
    /// write, so the version is left alone.
    pub async fn set_authorizer_profile(
        &self,
        appid: &str,
        profile: &AuthorizerProfile,
    ) -> Result<(), StoreError> {
        self.update_authorizer(
            appid,
            authorizer::ActiveModel {
                nick_name: Set(profile.nick_name.clone()),
                user_name: Set(profile.user_name.clone()),
                principal_name: Set(profile.principal_name.clone()),
                updated_at: Set(now()),
                ..Default::default()
            },
        )
        .await
    }

    /// Replaces the granted permission sets (a re-sync from
    /// api_get_authorizer_info found them changed without a push).
    pub async fn replace_funcscopes(
        &self,
        appid: &str,
        funcscopes: &BTreeSet<i64>,
    ) -> Result<(), StoreError> {
        let txn = self.db().begin().await?;
        funcscope::Entity::delete_many()
            .filter(funcscope::Column::Appid.eq(appid))
            .exec(&txn)
            .await?;
        if !funcscopes.is_empty() {
            funcscope::Entity::insert_many(funcscopes.iter().map(|id| funcscope::ActiveModel {
                appid: Set(appid.to_owned()),
                funcscope_id: Set(*id),
            }))
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        self.forget_cached_everywhere().await;
        Ok(())
    }

    /// Sets the columns `update` sets on one authorizer (no version check:
    /// for columns that are not tokens).
    async fn update_authorizer(
        &self,
        appid: &str,
        update: authorizer::ActiveModel,
    ) -> Result<(), StoreError> {
        authorizer::Entity::update_many()
            .set(update)
            .filter(authorizer::Column::Appid.eq(appid))
            .exec(self.db())
            .await?;
        self.forget_authorizer(appid);
        Ok(())
    }

    /// Gives an authorizer that belongs to no tenant to `tenant_id` (an
    /// `authorized` push without a visit, then the visit's redirect). Returns
    /// the owner afterwards.
    pub async fn claim_unassigned_authorizer(
        &self,
        appid: &str,
        tenant_id: &str,
    ) -> Result<Option<TenantId>, StoreError> {
        authorizer::Entity::update_many()
            .set(authorizer::ActiveModel {
                tenant_id: Set(Some(tenant_id.to_owned())),
                updated_at: Set(now()),
                ..Default::default()
            })
            .filter(authorizer::Column::Appid.eq(appid))
            .filter(authorizer::Column::TenantId.is_null())
            .exec(self.db())
            .await?;
        self.forget_authorizer(appid);
        Ok(self.authorizer(appid).await?.and_then(|a| a.tenant_id))
    }

    /// Records use (the caller throttles it: once every few minutes).
    pub async fn touch_authorizer(&self, appid: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update_authorizer(
            appid,
            authorizer::ActiveModel {
                last_used_at: Set(Some(at)),
                ..Default::default()
            },
        )
        .await
    }

    /// Active authorizers used since `active_since` whose access token is
    /// missing or expires before `before`, soonest first.
    pub async fn authorizers_to_refresh(
        &self,
        before: DateTime<Utc>,
        active_since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(String, Option<DateTime<Utc>>)>, StoreError> {
        let rows = authorizer::Entity::find()
            .select_only()
            .column(authorizer::Column::Appid)
            .column(authorizer::Column::AccessTokenExpiresAt)
            .filter(authorizer::Column::Status.eq(STATUS_ACTIVE))
            .filter(authorizer::Column::LastUsedAt.gte(active_since))
            .filter(
                Condition::any()
                    .add(authorizer::Column::AccessTokenExpiresAt.is_null())
                    .add(authorizer::Column::AccessTokenExpiresAt.lt(before)),
            )
            .order_by_asc(authorizer::Column::AccessTokenExpiresAt)
            .limit(limit)
            .into_tuple::<(String, Option<DateTime<Utc>>)>()
            .all(self.db())
            .await?;
        Ok(rows)
    }

    /// How many authorizers there are per status.
    pub async fn count_authorizers_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(authorizer::Entity::find()
            .select_only()
            .column(authorizer::Column::Status)
            .column_as(authorizer::Column::Appid.count(), "n")
            .group_by(authorizer::Column::Status)
            .order_by_asc(authorizer::Column::Status)
            .into_tuple::<(String, i64)>()
            .all(self.db())
            .await?)
    }

    /// For the refresh sweep's pace, in one scan: how many active
    /// authorizers were used since `active_since`, and for each of
    /// `horizons` how many of those have a token expiring before it (or
    /// none).
    pub async fn refresh_outlook(
        &self,
        active_since: DateTime<Utc>,
        horizons: &[DateTime<Utc>],
    ) -> Result<(u64, Vec<u64>), StoreError> {
        use sea_orm::{
            ConnectionTrait as _, QueryTrait as _,
            sea_query::{Expr, Func},
        };
        let mut select = authorizer::Entity::find()
            .select_only()
            .column_as(authorizer::Column::Appid.count(), "active")
            .filter(authorizer::Column::Status.eq(STATUS_ACTIVE))
            .filter(authorizer::Column::LastUsedAt.gte(active_since));
        for (i, horizon) in horizons.iter().enumerate() {
            let expiring = Condition::any()
                .add(authorizer::Column::AccessTokenExpiresAt.is_null())
                .add(authorizer::Column::AccessTokenExpiresAt.lt(*horizon));
            select = select.column_as(
                Expr::from(Func::count(Expr::case(expiring, 1))),
                format!("before_{i}"),
            );
        }
        let backend = self.db().get_database_backend();
        let row = self.db().query_one_raw(select.build(backend)).await?;
        let count = |i: usize| {
            row.as_ref()
                .map(|r| r.try_get_by_index::<i64>(i))
                .transpose()
                .map(|v| u64::try_from(v.unwrap_or(0)).unwrap_or(0))
        };
        let active = count(0)?;
        let expiring = (1..=horizons.len())
            .map(count)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((active, expiring))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::events;

    use crate::memory_store as store;

    fn authorization(appid: &str) -> Authorization {
        Authorization {
            appid: appid.into(),
            refresh_token: Secret::new("refreshtoken@@@1"),
            access_token: Some((Secret::new("access-1"), now() + Duration::hours(2))),
            funcscopes: [18, 142].into_iter().collect(),
        }
    }

    fn event(key: &str) -> NewEvent {
        NewEvent {
            tenant_id: None,
            authorizer_appid: Some("wx1".into()),
            event_type: events::AUTHORIZED.into(),
            data: serde_json::json!({}),
            dedupe_key: key.into(),
            occurred_at: now(),
            order_note: None,
        }
    }

    #[tokio::test]
    async fn each_side_of_a_move_sees_it_without_learning_the_other_tenant() {
        let store = store().await;
        let a = store.create_tenant("a").await.unwrap();
        let b = store.create_tenant("b").await.unwrap();
        store
            .store_authorization(Some(&a.id), &authorization("wx1"), None)
            .await
            .unwrap();
        let moved = store.move_authorizer("wx1", &b.id).await.unwrap();
        assert_eq!(moved.from_tenant.as_deref(), Some(a.id.as_str()));
        assert_eq!(moved.authorizer.tenant_id.as_deref(), Some(b.id.as_str()));
        let views = moved.views();
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].0.as_deref(), Some(b.id.as_str()));
        assert_eq!(views[0].1["direction"], "in");
        assert_eq!(views[1].0.as_deref(), Some(a.id.as_str()));
        assert_eq!(views[1].1["direction"], "out");
        for (_, detail) in &views {
            let detail = detail.to_string();
            assert!(
                !detail.contains(a.id.as_str()) && !detail.contains(b.id.as_str()),
                "{detail}"
            );
        }

        // Moving to where it already is: one view.
        let again = store.move_authorizer("wx1", &b.id).await.unwrap();
        assert_eq!(again.views().len(), 1);
        // Unknown tenant or authorizer: typed not-found.
        assert!(matches!(
            store.move_authorizer("wx1", "nope").await,
            Err(StoreError::NotFound("tenant"))
        ));
        assert!(matches!(
            store.move_authorizer("wx9", &a.id).await,
            Err(StoreError::NotFound("authorizer"))
        ));
    }

    #[tokio::test]
    async fn the_last_forced_refresh_is_noted_beside_the_token() {
        let store = store().await;
        store
            .store_authorization(None, &authorization("wx1"), None)
            .await
            .unwrap();
        let version = store.authorizer("wx1").await.unwrap().unwrap().version;
        assert_eq!(store.last_forced_refresh("wx1").await.unwrap(), None);
        let first = now();
        store.note_forced_refresh("wx1", first).await.unwrap();
        let later = first + Duration::seconds(90);
        store.note_forced_refresh("wx1", later).await.unwrap();
        let noted = store.last_forced_refresh("wx1").await.unwrap().unwrap();
        assert_eq!(noted.timestamp(), later.timestamp());
        let after = store.authorizer("wx1").await.unwrap().unwrap().version;
        assert_eq!(after, version, "the token's version is untouched");
    }

    #[tokio::test]
    async fn an_unknown_stored_status_is_an_error_never_active() {
        use sea_orm::ConnectionTrait as _;
        let store = store().await;
        store
            .store_authorization(None, &authorization("wx1"), None)
            .await
            .unwrap();
        assert_eq!(
            store.authorizer("wx1").await.unwrap().unwrap().status,
            AuthorizerStatus::Active
        );
        store
            .db()
            .execute_unprepared("UPDATE authorizers SET status = 'frozen' WHERE appid = 'wx1'")
            .await
            .unwrap();
        assert!(matches!(
            store.authorizer("wx1").await,
            Err(StoreError::Invalid { .. })
        ));
        assert!(matches!(
            store.authorizer_tokens("wx1").await,
            Err(StoreError::Invalid { .. })
        ));
    }

    #[tokio::test]
    async fn a_stale_writer_cannot_overwrite_a_newer_token() {
        let store = store().await;
        store
            .store_authorization(None, &authorization("wx1"), None)
            .await
            .unwrap();
        let read = store.authorizer_tokens("wx1").await.unwrap().unwrap();
        // Two refreshes read the same version; the first to write wins.
        let fresh_expiry = now() + Duration::hours(2);
        assert!(
            store
                .save_authorizer_tokens(
                    "wx1",
                    read.version,
                    &Secret::new("access-new"),
                    fresh_expiry,
                    &Secret::new("refreshtoken@@@new"),
                    now(),
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .save_authorizer_tokens(
                    "wx1",
                    read.version,
                    &Secret::new("access-stale"),
                    now() + Duration::minutes(1),
                    &Secret::new("refreshtoken@@@stale"),
                    now(),
                )
                .await
                .unwrap(),
            "the stale write must lose"
        );
        assert!(
            !store
                .replace_refresh_token("wx1", read.version, &Secret::new("refreshtoken@@@old"))
                .await
                .unwrap()
        );
        let now_stored = store.authorizer_tokens("wx1").await.unwrap().unwrap();
        assert_eq!(now_stored.version, read.version + 1);
        assert_eq!(now_stored.refresh_token.expose(), "refreshtoken@@@new");
        let (access, expires_at) = now_stored.access_token.unwrap();
        assert_eq!(access.expose(), "access-new");
        assert_eq!(expires_at.timestamp(), fresh_expiry.timestamp());
    }

    #[tokio::test]
    async fn an_authorization_with_a_recorded_event_is_applied_once() {
        let store = store().await;
        let first = store
            .store_authorization(None, &authorization("wx1"), Some(event("code-1")))
            .await
            .unwrap();
        assert_eq!(first, StoredAuthorization::Stored);
        let version = store.authorizer("wx1").await.unwrap().unwrap().version;
        let mut again = authorization("wx1");
        again.funcscopes = [17].into_iter().collect();
        let second = store
            .store_authorization(None, &again, Some(event("code-1")))
            .await
            .unwrap();
        assert_eq!(second, StoredAuthorization::Duplicate);
        let info = store.authorizer("wx1").await.unwrap().unwrap();
        assert_eq!(info.version, version, "nothing changed");
        assert_eq!(info.funcscopes, [18, 142].into_iter().collect());
        assert_eq!(
            store
                .list_events(&crate::events::EventFilter::default(), None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn revocation_drops_tokens_once_and_reauthorization_needs_the_read_version() {
        let store = store().await;
        store
            .store_authorization(None, &authorization("wx1"), None)
            .await
            .unwrap();
        let read = store.authorizer_tokens("wx1").await.unwrap().unwrap();
        // A re-authorization landed after the read: the mark is refused.
        store
            .store_authorization(None, &authorization("wx1"), None)
            .await
            .unwrap();
        let mut mark = event("reauth");
        mark.event_type = events::REAUTHORIZATION_REQUIRED.into();
        assert_eq!(
            store
                .require_reauthorization("wx1", read.version, mark)
                .await
                .unwrap(),
            StatusChange::Unchanged
        );
        let mut revoke = event("revoke");
        revoke.event_type = events::REVOKED.into();
        assert!(matches!(
            store
                .revoke_authorizer("wx1", revoke.clone())
                .await
                .unwrap(),
            StatusChange::Changed { .. }
        ));
        assert_eq!(
            store.revoke_authorizer("wx1", revoke).await.unwrap(),
            StatusChange::Duplicate
        );
        let tokens = store.authorizer_tokens("wx1").await.unwrap().unwrap();
        assert_eq!(tokens.status, AuthorizerStatus::Revoked);
        assert!(tokens.access_token.is_none());
        assert_eq!(tokens.refresh_token.expose(), "");
    }

    #[tokio::test]
    async fn the_sweep_sees_active_authorizers_soonest_expiring_first() {
        let store = store().await;
        let base = now();
        for (appid, expires_in) in [("wx-late", 100), ("wx-soon", 10), ("wx-mid", 50)] {
            let mut auth = authorization(appid);
            auth.access_token = Some((Secret::new("a"), base + Duration::minutes(expires_in)));
            store.store_authorization(None, &auth, None).await.unwrap();
        }
        let mut idle = authorization("wx-idle");
        idle.access_token = Some((Secret::new("a"), base + Duration::minutes(5)));
        store.store_authorization(None, &idle, None).await.unwrap();
        store
            .touch_authorizer("wx-idle", base - Duration::days(3))
            .await
            .unwrap();
        let since = base - Duration::days(1);
        let due = store
            .authorizers_to_refresh(base + Duration::minutes(60), since, 10)
            .await
            .unwrap();
        let appids: Vec<&str> = due.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(appids, ["wx-soon", "wx-mid"]);
        // The idle one is not counted, however soon it expires.
        let horizons = [
            base,
            base + Duration::minutes(30),
            base + Duration::minutes(60),
            base + Duration::days(1),
        ];
        let (active, expiring) = store.refresh_outlook(since, &horizons).await.unwrap();
        assert_eq!(active, 3);
        assert_eq!(expiring, [0, 1, 2, 3]);
    }
}
