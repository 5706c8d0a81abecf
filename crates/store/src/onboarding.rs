//! Onboarding links (handed to merchants) and their visits (one
//! pre_auth_code each). The tenant of an authorization is always resolved from
//! a visit we created, never from anything the browser sends.
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::{
    Appid, Secret, Store, StoreError, TenantId,
    api_keys::hash_key,
    entity::{onboarding_link as link, onboarding_visit as visit, tenant},
    new_id, now,
    tenants::STATUS_ACTIVE as TENANT_ACTIVE,
};

/// A link handed to a merchant (its token is only in the URL; the table
/// keeps a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingLink {
    pub id: String,
    pub tenant_id: TenantId,
    pub auth_type: i32,
    pub biz_appid: Option<String>,
    pub single_use: bool,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<link::Model> for OnboardingLink {
    fn from(m: link::Model) -> Self {
        Self {
            id: m.id,
            tenant_id: m.tenant_id.into(),
            auth_type: m.auth_type,
            biz_appid: m.biz_appid,
            single_use: m.single_use,
            expires_at: m.expires_at,
            used_at: m.used_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
        }
    }
}

/// One press of a link's button: one pre_auth_code at WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingVisit {
    pub id: String,
    pub link_id: String,
    pub tenant_id: TenantId,
    pub pre_auth_code: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The Mini Program it ended with.
    pub authorizer_appid: Option<Appid>,
}

impl From<visit::Model> for OnboardingVisit {
    fn from(m: visit::Model) -> Self {
        Self {
            id: m.id,
            link_id: m.link_id,
            tenant_id: m.tenant_id.into(),
            pre_auth_code: m.pre_auth_code,
            created_at: m.created_at,
            expires_at: m.expires_at,
            completed_at: m.completed_at,
            authorizer_appid: m.authorizer_appid.map(Into::into),
        }
    }
}

/// The answer to claiming a visit's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitClaim {
    /// This caller completes the visit; `consumed_link` says whether it
    /// also marked the link used (undone by a release).
    Claimed {
        visit: OnboardingVisit,
        consumed_link: bool,
    },
    /// Unknown, or expired at `at`.
    NotFound,
    /// Completed before (by the browser or by WeChat's push).
    AlreadyCompleted(OnboardingVisit),
    /// A single-use link another visit completed first.
    LinkUsed,
    LinkRevoked,
    TenantInactive,
}

#[derive(Debug, Clone)]
pub struct NewLink {
    pub tenant_id: String,
    pub auth_type: i32,
    pub biz_appid: Option<String>,
    pub single_use: bool,
    pub expires_at: DateTime<Utc>,
}

/// What a new link asks for; what it leaves out gets the defaults: Mini
/// Programs only (`auth_type` 2), a single use, a week.
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    pub auth_type: Option<i32>,
    pub biz_appid: Option<String>,
    pub single_use: Option<bool>,
    pub lifetime_secs: Option<i64>,
}

impl LinkRequest {
    pub const DEFAULT_AUTH_TYPE: i32 = 2;
    pub const DEFAULT_LIFETIME_SECS: i64 = 7 * 86400;

    /// The link for `tenant_id`, created at `now`.
    pub fn into_link(self, tenant_id: String, now: DateTime<Utc>) -> NewLink {
        let lifetime = self.lifetime_secs.unwrap_or(Self::DEFAULT_LIFETIME_SECS);
        NewLink {
            tenant_id,
            auth_type: self.auth_type.unwrap_or(Self::DEFAULT_AUTH_TYPE),
            biz_appid: self.biz_appid,
            single_use: self.single_use.unwrap_or(true),
            expires_at: now + chrono::Duration::seconds(lifetime),
        }
    }
}

/// Why a link cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Usable,
    Expired,
    Revoked,
    AlreadyUsed,
}

pub fn link_state(l: &OnboardingLink, at: DateTime<Utc>) -> LinkState {
    if l.revoked_at.is_some() {
        LinkState::Revoked
    } else if l.single_use && l.used_at.is_some() {
        LinkState::AlreadyUsed
    } else if l.expires_at <= at {
        LinkState::Expired
    } else {
        LinkState::Usable
    }
}

fn random_token() -> String {
    let mut raw = [0u8; 24];
    rand::rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

impl Store {
    /// Creates a link; returns the row and the URL token (shown once).
    pub async fn create_onboarding_link(
        &self,
        new: NewLink,
    ) -> Result<(OnboardingLink, Secret), StoreError> {
        let token = random_token();
        let id = new_id();
        let row = link::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(new.tenant_id),
            token_hash: Set(hash_key(&token)),
            auth_type: Set(new.auth_type),
            biz_appid: Set(new.biz_appid),
            single_use: Set(new.single_use),
            expires_at: Set(new.expires_at),
            used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now()),
        };
        link::Entity::insert(row).exec(self.db()).await?;
        let model = link::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(StoreError::NotFound("onboarding link"))?;
        Ok((model.into(), Secret::new(token)))
    }

    pub async fn onboarding_link_by_token(
        &self,
        token: &str,
    ) -> Result<Option<OnboardingLink>, StoreError> {
        Ok(link::Entity::find()
            .filter(link::Column::TokenHash.eq(hash_key(token)))
            .one(self.db())
            .await?
            .map(OnboardingLink::from))
    }

    /// A tenant's links, oldest first, after the link `after`.
    pub async fn list_onboarding_links(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<OnboardingLink>, StoreError> {
        let mut query = link::Entity::find()
            .filter(link::Column::TenantId.eq(tenant_id))
            .order_by_asc(link::Column::Id);
        if let Some(after) = after {
            query = query.filter(link::Column::Id.gt(after));
        }
        Ok(query
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(OnboardingLink::from)
            .collect())
    }

    /// Revokes a tenant's link (idempotent). A merchant holding it gets the
    /// "link revoked" page; visits already at WeChat still complete.
    pub async fn revoke_onboarding_link(
        &self,
        tenant_id: &str,
        link_id: &str,
    ) -> Result<OnboardingLink, StoreError> {
        link::Entity::update_many()
            .set(link::ActiveModel {
                revoked_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(link::Column::Id.eq(link_id))
            .filter(link::Column::TenantId.eq(tenant_id))
            .filter(link::Column::RevokedAt.is_null())
            .exec(self.db())
            .await?;
        link::Entity::find_by_id(link_id.to_owned())
            .filter(link::Column::TenantId.eq(tenant_id))
            .one(self.db())
            .await?
            .map(OnboardingLink::from)
            .ok_or(StoreError::NotFound("onboarding link"))
    }

    pub async fn create_onboarding_visit(
        &self,
        link: &OnboardingLink,
        pre_auth_code: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<OnboardingVisit, StoreError> {
        let id = random_token();
        let row = visit::ActiveModel {
            id: Set(id.clone()),
            link_id: Set(link.id.clone()),
            tenant_id: Set(link.tenant_id.clone().into()),
            pre_auth_code: Set(pre_auth_code.to_owned()),
            created_at: Set(now()),
            expires_at: Set(expires_at),
            completed_at: Set(None),
            authorizer_appid: Set(None),
        };
        visit::Entity::insert(row).exec(self.db()).await?;
        visit::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(OnboardingVisit::from)
            .ok_or(StoreError::NotFound("onboarding visit"))
    }

    pub async fn onboarding_visit(&self, id: &str) -> Result<Option<OnboardingVisit>, StoreError> {
        Ok(visit::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .map(OnboardingVisit::from))
    }

    pub async fn onboarding_visit_by_pre_auth_code(
        &self,
        pre_auth_code: &str,
    ) -> Result<Option<OnboardingVisit>, StoreError> {
        Ok(visit::Entity::find()
            .filter(visit::Column::PreAuthCode.eq(pre_auth_code))
            .one(self.db())
            .await?
            .map(OnboardingVisit::from))
    }

    /// Claims the completion of a visit, once: the visit must be pending
    /// and unexpired, its link not revoked (nor, if single-use, completed by
    /// another visit), its tenant active. The claim marks the visit
    /// completed and the link used, in one transaction, before WeChat is
    /// asked to exchange the code; [`Store::release_onboarding_visit`] undoes
    /// it if the exchange fails.
    pub async fn claim_onboarding_visit(
        &self,
        visit_id: &str,
        at: DateTime<Utc>,
    ) -> Result<VisitClaim, StoreError> {
        let txn = self.db().begin().await?;
        let Some(v) = visit::Entity::find_by_id(visit_id.to_owned())
            .one(&txn)
            .await?
            .filter(|v| v.expires_at > at)
        else {
            return Ok(VisitClaim::NotFound);
        };
        if v.completed_at.is_some() {
            return Ok(VisitClaim::AlreadyCompleted(v.into()));
        }
        let Some(l) = link::Entity::find_by_id(v.link_id.clone())
            .one(&txn)
            .await?
        else {
            return Ok(VisitClaim::LinkRevoked);
        };
        if l.revoked_at.is_some() {
            return Ok(VisitClaim::LinkRevoked);
        }
        let active = tenant::Entity::find_by_id(v.tenant_id.clone())
            .one(&txn)
            .await?
            .is_some_and(|t| t.status == TENANT_ACTIVE);
        if !active {
            return Ok(VisitClaim::TenantInactive);
        }
        let claimed = visit::Entity::update_many()
            .set(visit::ActiveModel {
                completed_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(visit::Column::Id.eq(visit_id))
            .filter(visit::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            // Another replica claimed it between our read and our write.
            return Ok(VisitClaim::AlreadyCompleted(v.into()));
        }
        let consumed = link::Entity::update_many()
            .set(link::ActiveModel {
                used_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(link::Column::Id.eq(l.id.clone()))
            .filter(link::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        let consumed_link = consumed.rows_affected == 1;
        if l.single_use && !consumed_link {
            txn.rollback().await?;
            return Ok(VisitClaim::LinkUsed);
        }
        txn.commit().await?;
        Ok(VisitClaim::Claimed {
            visit: v.into(),
            consumed_link,
        })
    }

    /// Records which Mini Program a claimed visit ended with.
    pub async fn finish_onboarding_visit(
        &self,
        visit_id: &str,
        authorizer_appid: &str,
    ) -> Result<(), StoreError> {
        visit::Entity::update_many()
            .set(visit::ActiveModel {
                authorizer_appid: Set(Some(authorizer_appid.to_owned())),
                ..Default::default()
            })
            .filter(visit::Column::Id.eq(visit_id))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Undoes a claim whose exchange failed, so the merchant can try again.
    pub async fn release_onboarding_visit(
        &self,
        claimed: &OnboardingVisit,
        consumed_link: bool,
    ) -> Result<(), StoreError> {
        let txn = self.db().begin().await?;
        visit::Entity::update_many()
            .set(visit::ActiveModel {
                completed_at: Set(None),
                ..Default::default()
            })
            .filter(visit::Column::Id.eq(claimed.id.clone()))
            .filter(visit::Column::AuthorizerAppid.is_null())
            .exec(&txn)
            .await?;
        if consumed_link {
            link::Entity::update_many()
                .set(link::ActiveModel {
                    used_at: Set(None),
                    ..Default::default()
                })
                .filter(link::Column::Id.eq(claimed.link_id.clone()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Deletes visits that expired before `before` (a visit is useless once
    /// expired: its pre_auth_code is dead and its result page is gone).
    pub async fn purge_expired_onboarding_visits(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = visit::Entity::delete_many()
            .filter(visit::Column::ExpiresAt.lt(before))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_request_gets_defaults_for_what_it_leaves_out() {
        let now = Utc::now();
        let link = LinkRequest::default().into_link("t1".into(), now);
        assert_eq!(link.tenant_id, "t1");
        assert_eq!((link.auth_type, link.single_use), (2, true));
        assert_eq!(link.biz_appid, None);
        assert_eq!(link.expires_at, now + chrono::Duration::days(7));
        let asked = LinkRequest {
            auth_type: Some(3),
            biz_appid: Some("wx0123456789abcdef".into()),
            single_use: Some(false),
            lifetime_secs: Some(60),
        };
        let link = asked.into_link("t1".into(), now);
        assert_eq!((link.auth_type, link.single_use), (3, false));
        assert_eq!(link.biz_appid.as_deref(), Some("wx0123456789abcdef"));
        assert_eq!(link.expires_at, now + chrono::Duration::seconds(60));
    }
}
