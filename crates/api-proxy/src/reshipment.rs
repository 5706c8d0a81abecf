//! The re-shipment guard of `upload_shipping_info`: each payment order may
//! have its shipping information uploaded again **once** (seed 004 §I: "a
//! payment order can only update the shipping information once", note 6:
//! calling the API again on a shipped order is a re-shipment; a third upload
//! is refused with 10060003, "only once can be re-shipped"), so a second upload made by mistake — a
//! client retrying with a new `Idempotency-Key`, a duplicate job — spends a
//! chance the merchant may need later. tpgate remembers what it uploaded for
//! each order and refuses a second upload unless the caller confirms it
//! (`Tpgate-Confirm-Reshipment: true`); a tenant can switch the guard off.
//! Whatever the guard says, an upload must carry a later `upload_time` than
//! the order's previous one (seed 004 §I note 4: "if you want to update the
//! logistics information, upload time must be updated than the previous
//! request"; the seed's errcode for a bad upload time is 268485216).
//!
//! An order shipped outside tpgate is unknown here: WeChat decides then.
use chrono::{DateTime, FixedOffset};
use poem::http::StatusCode;
use problem::Problem;
use store::shipping_uploads::{OrderRef, ShippingUpload};
use wechat_api::{errcode, shipping::UploadShippingInfoRequest};

/// The header a caller sends to confirm a re-shipment.
pub const CONFIRM_HEADER: &str = "Tpgate-Confirm-Reshipment";
/// On a re-shipment's answer: `last`, the order has no upload left.
pub const RESHIPMENT_HEADER: &str = "Tpgate-Reshipment";

/// What the guard decides about one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// tpgate uploaded nothing for this order (or the guard is off and
    /// nothing stands against it).
    Upload,
    /// A confirmed upload for an order tpgate already uploaded: it spends
    /// the order's re-shipment (or, past it, WeChat answers 10060003).
    Reshipment,
    /// Refused: a re-shipment not confirmed.
    NeedsConfirmation,
    /// Refused: `upload_time` is not later than the previous upload's.
    UploadTimeNotLater,
}

/// Decides about an upload at `upload_time` for an order with `previous`.
pub fn decide(
    previous: Option<&ShippingUpload>,
    upload_time: DateTime<FixedOffset>,
    confirmed: bool,
    guard_on: bool,
) -> Verdict {
    let Some(previous) = previous else {
        return Verdict::Upload;
    };
    if upload_time <= previous.last_upload_time_at {
        return Verdict::UploadTimeNotLater;
    }
    match (confirmed, guard_on) {
        (true, _) => Verdict::Reshipment,
        (false, true) => Verdict::NeedsConfirmation,
        (false, false) => Verdict::Upload,
    }
}

/// How long an upload holds its order against others (longer than any one
/// call to WeChat; a replica that dies mid-call frees it then).
pub const CLAIM_HOLD: chrono::Duration = chrono::Duration::seconds(60);

/// The refusal while another upload of the order is being sent.
pub fn in_flight(until: DateTime<chrono::Utc>) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "shipment_upload_in_progress",
        "Another upload of this order is in progress",
    )
    .with_detail(format!(
        "another upload of this payment order's shipping information is being sent (held until {}); see its answer before uploading again",
        until.to_rfc3339()
    ))
    .with_retry_after(u64::try_from((until - chrono::Utc::now()).num_seconds().max(1)).unwrap_or(1))
}

/// The refusal for `verdict`, naming the earlier upload.
pub fn refusal(verdict: &Verdict, previous: &ShippingUpload) -> Option<Problem> {
    let uncertain = if previous.uncertain {
        " WeChat did not answer the last one in time, so it may or may not have it: check with get_order."
    } else {
        ""
    };
    let earlier = format!(
        "tpgate uploaded this order's shipping information {} time(s), last at {} (upload_time {}, tracking {}{})",
        previous.uploads,
        previous.last_uploaded_at.to_rfc3339(),
        previous.last_upload_time,
        if previous.last_tracking.is_empty() {
            "none"
        } else {
            &previous.last_tracking
        },
        previous
            .last_request_id
            .as_deref()
            .map(|r| format!(", request {r}"))
            .unwrap_or_default(),
    );
    match verdict {
        Verdict::NeedsConfirmation => Some(
            Problem::new(
                StatusCode::CONFLICT,
                "reshipment_requires_confirmation",
                "Re-shipment requires confirmation",
            )
            .with_detail(format!(
                "{earlier}.{uncertain} Another upload is the order's one re-shipment (a third is refused by WeChat with 10060003): send `{CONFIRM_HEADER}: true` to make it, whatever the Idempotency-Key"
            )),
        ),
        Verdict::UploadTimeNotLater => Some(
            Problem::validation(
                "upload_time",
                format!("{earlier}; upload_time must be later than that upload's"),
            )
            .with_prevented_errcode(errcode::UPLOAD_TIME_INVALID),
        ),
        Verdict::Upload | Verdict::Reshipment => None,
    }
}

/// An `upload_shipping_info` as the guard sees it.
#[derive(Debug, Clone)]
pub struct Shipment {
    pub order: OrderRef,
    /// `upload_time` as sent, and as an instant.
    pub upload_time: String,
    pub upload_time_at: DateTime<FixedOffset>,
    /// Its tracking numbers, for the record.
    pub tracking: String,
    /// The caller confirmed a re-shipment ([`CONFIRM_HEADER`]).
    pub confirmed: bool,
}

/// What the guard needs of an upload; `None` when the body names no order
/// or time it can read (the seed rules then refuse it anyway).
pub fn shipment_of(body: &UploadShippingInfoRequest, confirmed: bool) -> Option<Shipment> {
    let (order, upload_time_at) = order_of(body)?;
    Some(Shipment {
        order,
        upload_time: body.upload_time.clone()?,
        upload_time_at,
        tracking: tracking_of(body),
        confirmed,
    })
}

/// On an answer: the `upload_time` tpgate filled in (the body had none).
pub const FILLED_UPLOAD_TIME_HEADER: &str = "Tpgate-Filled-Upload-Time";

/// Fills in a missing `upload_time` with `now` in Asia/Shanghai, RFC 3339
/// (WeChat requires one and orders uploads by it), in the typed body and in
/// the JSON forwarded. The time filled, if any.
pub fn fill_upload_time(
    typed: &mut UploadShippingInfoRequest,
    raw: &mut serde_json::Value,
    now: DateTime<chrono::Utc>,
) -> Option<String> {
    if typed.upload_time.is_some() {
        return None;
    }
    let shanghai = FixedOffset::east_opt(8 * 3600)?;
    let filled = now
        .with_timezone(&shanghai)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    typed.upload_time = Some(filled.clone());
    raw.as_object_mut()?
        .insert("upload_time".to_owned(), filled.clone().into());
    Some(filled)
}

/// Whether a [`CONFIRM_HEADER`] value confirms.
pub fn confirms(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The order an `order_key` names, as the guard and the store name it:
/// by WeChat Pay's transaction id (`order_number_type` 2) or the
/// merchant's number (1).
pub fn order_ref(key: &wechat_api::shipping::OrderKey) -> Option<OrderRef> {
    match (
        key.order_number_type,
        &key.transaction_id,
        &key.mchid,
        &key.out_trade_no,
    ) {
        (2, Some(tx), _, _) => Some(OrderRef::Transaction(tx.clone())),
        (1, _, Some(mchid), Some(no)) => Some(OrderRef::Merchant {
            mchid: mchid.clone(),
            out_trade_no: no.clone(),
        }),
        _ => None,
    }
}

/// The payment orders an upload body names (a combined upload's
/// sub-orders), for the records of shipped orders.
pub fn orders_in(body: &serde_json::Value) -> Vec<OrderRef> {
    let key = |v: &serde_json::Value| {
        serde_json::from_value::<wechat_api::shipping::OrderKey>(v.get("order_key")?.clone())
            .ok()
            .as_ref()
            .and_then(order_ref)
    };
    match body.get("sub_orders").and_then(serde_json::Value::as_array) {
        Some(subs) => subs.iter().filter_map(key).collect(),
        None => key(body).into_iter().collect(),
    }
}

/// The order an upload is for, and its `upload_time` as an instant (the
/// seed rules ran before: a body that reaches here has both).
fn order_of(body: &UploadShippingInfoRequest) -> Option<(OrderRef, DateTime<FixedOffset>)> {
    let order = order_ref(&body.order_key)?;
    let at = DateTime::parse_from_rfc3339(body.upload_time.as_deref()?).ok()?;
    Some((order, at))
}

/// The tracking numbers of an upload, for the record.
fn tracking_of(body: &UploadShippingInfoRequest) -> String {
    body.shipping_list
        .iter()
        .filter_map(|s| s.tracking_no.as_deref())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn previous(uploads: i32) -> ShippingUpload {
        let t = at("2026-12-05T10:00:00+08:00");
        ShippingUpload {
            appid: "wxa".to_owned().into(),
            tenant_id: "t1".to_owned().into(),
            uploads,
            first_uploaded_at: t.into(),
            last_uploaded_at: t.into(),
            last_upload_time: "2026-12-05T10:00:00+08:00".into(),
            last_upload_time_at: t.into(),
            last_tracking: "SF1".into(),
            last_request_id: Some("r1".into()),
            uncertain: false,
        }
    }

    #[test]
    fn a_second_upload_needs_confirmation_and_a_later_upload_time() {
        let later = at("2026-12-05T11:00:00+08:00");
        let same = at("2026-12-05T10:00:00+08:00");
        assert_eq!(decide(None, same, false, true), Verdict::Upload);
        let p = previous(1);
        assert_eq!(
            decide(Some(&p), later, false, true),
            Verdict::NeedsConfirmation
        );
        assert_eq!(decide(Some(&p), later, true, true), Verdict::Reshipment);
        assert_eq!(decide(Some(&p), later, false, false), Verdict::Upload);
        // Whatever the guard and the confirmation, the time must move on.
        for (confirmed, on) in [(true, true), (false, false), (false, true)] {
            assert_eq!(
                decide(Some(&p), same, confirmed, on),
                Verdict::UploadTimeNotLater
            );
        }
        // Past the re-shipment, a confirmed upload still goes: WeChat says 10060003.
        assert_eq!(
            decide(Some(&previous(2)), later, true, true),
            Verdict::Reshipment
        );
    }

    #[test]
    fn a_missing_upload_time_is_filled_in_shanghai_time() {
        let mut typed = <UploadShippingInfoRequest as poem_openapi::types::Example>::example();
        typed.upload_time = None;
        let mut raw = serde_json::json!({ "order_key": {} });
        let now = at("2026-12-05T02:03:04Z").with_timezone(&chrono::Utc);
        let filled = fill_upload_time(&mut typed, &mut raw, now).unwrap();
        assert_eq!(filled, "2026-12-05T10:03:04.000+08:00");
        assert_eq!(typed.upload_time.as_deref(), Some(filled.as_str()));
        assert_eq!(raw["upload_time"], filled.as_str());
        // A given one stays.
        assert_eq!(fill_upload_time(&mut typed, &mut raw, now), None);
    }

    #[test]
    fn refusals_name_the_earlier_upload() {
        let p = previous(1);
        let conflict = refusal(&Verdict::NeedsConfirmation, &p).unwrap();
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        let detail = conflict.body().detail.clone().unwrap();
        assert!(
            detail.contains("SF1") && detail.contains(CONFIRM_HEADER),
            "{detail}"
        );
        let time = refusal(&Verdict::UploadTimeNotLater, &p).unwrap();
        assert_eq!(time.body().prevents_errcode, Some(268485216));
        assert_eq!(time.body().field.as_deref(), Some("upload_time"));
        assert!(refusal(&Verdict::Reshipment, &p).is_none());
    }
}
