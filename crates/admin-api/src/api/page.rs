//! Cursor paging, shared by every listing: a request's `cursor` and `limit`
//! ([`Paging`]) and the page answering it ([`Page`]).
use std::borrow::Cow;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
// `types::Type` is not imported: its `is_empty` (always false) would
// shadow `str::is_empty` on a `&&str`.
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{self, IsObjectType, ToJSON},
};
use problem::Problem;
use serde_json::{Map, Value};

/// Page size when `limit` is not given, and the largest allowed.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// An item of a listing, and how its page appears in the spec.
pub(crate) trait PageItem: types::Type + ToJSON {
    /// The page's schema name, e.g. `TenantPage`: generated clients use it.
    const PAGE: &'static str;
    /// The page's schema description, if it has one.
    const PAGE_DESCRIPTION: Option<&'static str> = None;
    /// Newest-first listings, whose next page is an older one.
    const NEWEST_FIRST: bool = false;
}

/// One page of a listing (of store rows until mapped to API items).
///
/// Its schema is written by hand: `#[derive(Object)]` on a generic struct
/// names each page `Page_<Item>`, and the spec and clients say `TenantPage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<R> Page<R> {
    pub(crate) fn map<T>(self, f: impl FnMut(R) -> T) -> Page<T> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

const NEXT_PAGE: &str = "Pass as `cursor` for the next page; absent on the last page.";
const NEXT_OLDER_PAGE: &str =
    "Pass as `cursor` for the next (older) page; absent on the last page.";

// What `#[derive(Object)] #[oai(skip_serializing_if_is_none)]` generates,
// with the name and descriptions taken from the item.
impl<T: PageItem> types::Type for Page<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::PAGE)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::PAGE.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(T::PAGE.to_owned(), |registry| {
            <Vec<T> as types::Type>::register(registry);
            <Option<String> as types::Type>::register(registry);
            let next_cursor = MetaSchema {
                description: Some(if T::NEWEST_FIRST {
                    NEXT_OLDER_PAGE
                } else {
                    NEXT_PAGE
                }),
                ..MetaSchema::ANY
            };
            MetaSchema {
                title: Some(T::PAGE.to_owned()),
                description: T::PAGE_DESCRIPTION,
                required: vec!["items"],
                properties: vec![
                    ("items", <Vec<T> as types::Type>::schema_ref()),
                    (
                        "next_cursor",
                        <Option<String> as types::Type>::schema_ref().merge(next_cursor),
                    ),
                ],
                ..MetaSchema::new("object")
            }
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<T: PageItem> IsObjectType for Page<T> {}

impl<T: PageItem> ToJSON for Page<T> {
    fn to_json(&self) -> Option<Value> {
        let mut object = Map::new();
        if let Some(items) = self.items.to_json() {
            object.insert("items".to_owned(), items);
        }
        if let Some(cursor) = &self.next_cursor {
            object.insert("next_cursor".to_owned(), Value::String(cursor.clone()));
        }
        Some(Value::Object(object))
    }
}

/// A listing request's `cursor` and `limit`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paging {
    after: Option<String>,
    limit: u32,
}

impl Paging {
    /// `limit` defaults to [`DEFAULT_PAGE`] and is clamped to 1..=[`MAX_PAGE`].
    pub(crate) fn new(cursor: Option<&str>, limit: Option<u32>) -> Result<Self, Problem> {
        Ok(Self {
            after: decode_cursor(cursor)?,
            limit: limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
        })
    }

    /// The key to continue after, in the listing's order (newest-first
    /// listings take it as "before").
    pub(crate) fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// How many rows to fetch: one more than a page, to know whether
    /// another follows.
    pub(crate) fn fetch(&self) -> u64 {
        u64::from(self.limit) + 1
    }

    /// The page of `rows` (fetched with [`Self::fetch`]), with the cursor
    /// after its last row when more follow. `key` is the listing's order key.
    pub(crate) fn page<R>(&self, mut rows: Vec<R>, key: impl Fn(&R) -> &str) -> Page<R> {
        let limit = self.limit as usize;
        if rows.len() <= limit {
            return Page {
                items: rows,
                next_cursor: None,
            };
        }
        rows.truncate(limit);
        let next_cursor = rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)));
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// Decodes a `cursor` query parameter into the key to continue after.
/// Cursors are opaque to clients (base64url of the last key, at most 128
/// bytes: 171 characters, the bound every listing's `cursor` declares), so a
/// listing's order key can change without breaking them. An empty `cursor=`
/// is refused like any other cursor this API never returned: the first page
/// is asked for by leaving `cursor` out.
fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, Problem> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .filter(|key| !key.is_empty() && key.len() <= 128)
        .map(Some)
        .ok_or_else(|| {
            Problem::validation(
                "cursor",
                "not a cursor this API returned; pass next_cursor from the previous page",
            )
        })
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;

    use super::{
        super::{audit::AuditEntry, tenants::Tenant},
        *,
    };

    fn paging(cursor: Option<&str>, limit: Option<u32>) -> Paging {
        Paging::new(cursor, limit).unwrap()
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let first = paging(None, Some(2));
        assert_eq!(first.after(), None);
        assert_eq!(first.fetch(), 3);
        let page = first.page(vec!["a", "b", "c"], |s| s);
        assert_eq!(page.items, vec!["a", "b"]);
        let next = page.next_cursor.unwrap();
        assert_eq!(paging(Some(&next), Some(2)).after(), Some("b"));
        let last = paging(Some(&next), Some(2)).page(vec!["c"], |s| s);
        assert_eq!(last.next_cursor, None);
        let err = Paging::new(Some(""), None).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("cursor"));
        let err = Paging::new(Some("%%%"), None).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("cursor"));
    }

    #[test]
    fn limits_default_and_clamp() {
        assert_eq!(paging(None, None).fetch(), u64::from(DEFAULT_PAGE) + 1);
        assert_eq!(paging(None, Some(1000)).fetch(), u64::from(MAX_PAGE) + 1);
        assert_eq!(paging(None, Some(0)).fetch(), 2);
    }

    #[test]
    fn pages_map_their_items_and_keep_the_cursor() {
        let page = paging(None, Some(1)).page(vec![1, 2], |_| "k");
        let cursor = page.next_cursor.clone();
        let page = page.map(|n| n * 10);
        assert_eq!(page.items, vec![10]);
        assert_eq!(page.next_cursor, cursor);
    }

    // Two of the derived structs `Page` replaced: its schemas and JSON must
    // be theirs.

    /// A page of tenants.
    #[derive(Object)]
    #[oai(skip_serializing_if_is_none)]
    struct TenantPage {
        items: Vec<Tenant>,
        /// Pass as `cursor` for the next page; absent on the last page.
        next_cursor: Option<String>,
    }

    #[derive(Object)]
    #[oai(skip_serializing_if_is_none)]
    struct AuditPage {
        items: Vec<AuditEntry>,
        /// Pass as `cursor` for the next (older) page; absent on the last page.
        next_cursor: Option<String>,
    }

    fn schema<T: types::Type>() -> Value {
        let mut registry = Registry::new();
        T::register(&mut registry);
        serde_json::to_value(&registry.schemas[&*T::name()]).unwrap()
    }

    #[test]
    fn schemas_and_json_are_the_derived_ones() {
        assert_eq!(schema::<Page<Tenant>>(), schema::<TenantPage>());
        assert_eq!(schema::<Page<AuditEntry>>(), schema::<AuditPage>());
        let page = Page::<AuditEntry> {
            items: vec![],
            next_cursor: None,
        };
        let derived = AuditPage {
            items: vec![],
            next_cursor: None,
        };
        assert_eq!(page.to_json(), derived.to_json());
        let page = Page::<AuditEntry> {
            next_cursor: Some("YQ".into()),
            ..page
        };
        let derived = AuditPage {
            next_cursor: Some("YQ".into()),
            ..derived
        };
        assert_eq!(page.to_json(), derived.to_json());
    }
}
