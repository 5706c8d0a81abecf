//! `tpgate rotate-keys`: re-seals every sealed value with the current key,
//! so an old key can be removed from `sealing_previous_keys` afterwards.
//!
//! Each value is replaced compare-and-set on its old sealed bytes: a token
//! refreshed concurrently (already sealed with the current key by the
//! running replicas) is left alone rather than overwritten, and the version
//! column is untouched, so rotation never races a refresh.
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    Store, StoreError,
    entity::{authorizer, component_state as cs},
};

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Values re-sealed with the current key.
    pub resealed: u64,
    /// Values already sealed with it.
    pub current: u64,
    /// Values changed by someone else meanwhile (already current then).
    pub skipped: u64,
}

const PAGE: u64 = 500;

impl Store {
    pub async fn reseal_all(&self) -> Result<RotationReport, StoreError> {
        let mut report = RotationReport::default();
        for row in cs::Entity::find().all(self.db()).await? {
            let appid = row.component_appid.clone();
            let purposes = [
                (
                    cs::Column::VerifyTicketSealed,
                    row.verify_ticket_sealed,
                    crate::component::ticket_purpose(&appid),
                ),
                (
                    cs::Column::AccessTokenSealed,
                    row.access_token_sealed,
                    crate::component::token_purpose(&appid),
                ),
            ];
            for (column, sealed, purpose) in purposes {
                let Some(old) = sealed else { continue };
                let Some(new) = self.reseal(&purpose, &old, &mut report)? else {
                    continue;
                };
                let result = cs::Entity::update_many()
                    .col_expr(column, sea_orm::sea_query::Expr::value(new))
                    .filter(cs::Column::ComponentAppid.eq(appid.clone()))
                    .filter(column.eq(old))
                    .exec(self.db())
                    .await?;
                count(&mut report, result.rows_affected);
            }
        }
        let mut after: Option<String> = None;
        loop {
            let mut query = authorizer::Entity::find()
                .order_by_asc(authorizer::Column::Appid)
                .limit(PAGE);
            if let Some(last) = &after {
                query = query.filter(authorizer::Column::Appid.gt(last.clone()));
            }
            let rows = query.all(self.db()).await?;
            let Some(last) = rows.last().map(|r| r.appid.clone()) else {
                break;
            };
            for row in rows {
                let appid = row.appid;
                if let Some(new) = self.reseal(
                    &crate::authorizers::refresh_purpose(&appid),
                    &row.refresh_token_sealed,
                    &mut report,
                )? {
                    let result = authorizer::Entity::update_many()
                        .set(authorizer::ActiveModel {
                            refresh_token_sealed: Set(new),
                            ..Default::default()
                        })
                        .filter(authorizer::Column::Appid.eq(appid.clone()))
                        .filter(authorizer::Column::RefreshTokenSealed.eq(row.refresh_token_sealed))
                        .exec(self.db())
                        .await?;
                    count(&mut report, result.rows_affected);
                }
                if let Some(old) = row.access_token_sealed
                    && let Some(new) = self.reseal(
                        &crate::authorizers::access_purpose(&appid),
                        &old,
                        &mut report,
                    )?
                {
                    let result = authorizer::Entity::update_many()
                        .set(authorizer::ActiveModel {
                            access_token_sealed: Set(Some(new)),
                            ..Default::default()
                        })
                        .filter(authorizer::Column::Appid.eq(appid.clone()))
                        .filter(authorizer::Column::AccessTokenSealed.eq(old))
                        .exec(self.db())
                        .await?;
                    count(&mut report, result.rows_affected);
                }
            }
            after = Some(last);
        }
        Ok(report)
    }

    /// The value sealed anew with the current key, or None if it already is.
    fn reseal(
        &self,
        purpose: &str,
        sealed: &[u8],
        report: &mut RotationReport,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if self.sealer().is_current(sealed) {
            report.current += 1;
            return Ok(None);
        }
        let secret = self.sealer().open(purpose, sealed)?;
        Ok(Some(self.sealer().seal(purpose, &secret)))
    }
}

fn count(report: &mut RotationReport, rows_affected: u64) {
    if rows_affected == 1 {
        report.resealed += 1;
    } else {
        report.skipped += 1;
    }
}
