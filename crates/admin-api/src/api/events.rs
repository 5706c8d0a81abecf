//! Events about tenants' Mini Programs (authorization changes; WeChat's
//! Mini Program events once they are received), newest first.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use problem::Problem;
use store::events::{Event as StoredEvent, EventFilter};

use super::{AdminTags, Page, PageItem, Paging};
use crate::{AdminState, auth::AdminAuth};

/// An event.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Event {
    pub id: String,
    /// e.g. `authorization.authorized`, `authorization.revoked`.
    #[oai(rename = "type")]
    pub event_type: String,
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    /// When it happened (WeChat's time for pushed events).
    pub occurred_at: DateTime<Utc>,
    /// When tpgate recorded it.
    pub created_at: DateTime<Utc>,
    /// The event's fields.
    pub data: serde_json::Value,
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id.into(),
            event_type: e.event_type,
            tenant_id: e.tenant_id.map(Into::into),
            appid: e.authorizer_appid.map(Into::into),
            occurred_at: e.occurred_at,
            created_at: e.created_at,
            data: e.data,
        }
    }
}

impl PageItem for Event {
    const PAGE: &'static str = "EventPage";
    const NEWEST_FIRST: bool = true;
}

#[derive(ApiResponse)]
enum ListEventsResponse {
    /// Events, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Event>>),
}

#[derive(ApiResponse)]
enum EventResponse {
    /// The event.
    #[oai(status = 200)]
    Ok(Json<Event>),
}

pub struct EventsApi;

#[OpenApi(prefix_path = "/admin/v1/events", tag = "AdminTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// A tenant_admin sees only its tenant's.
    #[oai(path = "/", method = "get", operation_id = "list_events")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn list_events(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Only this tenant's events.
        tenant_id: Query<Option<String>>,
        /// Only this Mini Program's events.
        appid: Query<Option<String>>,
        /// Only events of this type.
        #[oai(name = "type", validator(max_length = 64))]
        event_type: Query<Option<String>>,
        /// Only events that occurred at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only events that occurred before this time (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(min_length = 1, max_length = 171))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ListEventsResponse, Problem> {
        let scope = auth.0.tenant_scope(tenant_id.0)?;
        let paging = Paging::new(cursor.0.as_deref(), limit.0)?;
        let filter = EventFilter {
            tenant_id: scope,
            appid: appid.0.filter(|a| !a.is_empty()),
            event_type: event_type.0.filter(|t| !t.is_empty()),
            since: since.0,
            until: until.0,
        };
        let rows = state
            .store
            .list_events(&filter, paging.after(), paging.fetch())
            .await?;
        let page = paging.page(rows, |e| &e.id).map(Event::from);
        Ok(ListEventsResponse::Ok(Json(page)))
    }

    /// Get an event
    #[oai(path = "/:event_id", method = "get", operation_id = "get_event")]
    async fn get_event(
        &self,
        auth: AdminAuth,
        state: Data<&AdminState>,
        /// Event id.
        event_id: Path<String>,
    ) -> Result<EventResponse, Problem> {
        let not_found = || Problem::not_found(format!("event {} not found", event_id.0));
        let event = state.store.event(&event_id).await?.ok_or_else(not_found)?;
        if !auth.0.can_see(event.tenant_id.as_deref()) {
            return Err(not_found());
        }
        Ok(EventResponse::Ok(Json(event.into())))
    }
}
