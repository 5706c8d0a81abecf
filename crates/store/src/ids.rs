//! The ids that cross crates, as types: a tenant id cannot be passed where
//! an appid is expected, and a struct says which id a field holds.
//!
//! Each derefs to `str`, so a typed id goes wherever `&str` is taken (SQL
//! parameters, log fields, formatting) without conversions at every call.
//! Ids are not secrets: `Debug` shows them.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(id: $name) -> Self {
                id.0.into()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

id_type!(
    /// A tenant: one of the service provider's customers.
    TenantId
);
id_type!(
    /// A Mini Program's appid (`wx…`), as WeChat gives it.
    Appid
);
id_type!(
    /// An event about a tenant's Mini Program (what webhooks deliver).
    EventId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings_and_read_as_str() {
        let id = TenantId::new("t1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"t1\"");
        assert_eq!(serde_json::from_str::<Appid>("\"wx1\"").unwrap(), "wx1");
        fn takes_str(s: &str) -> usize {
            s.len()
        }
        assert_eq!(takes_str(&id), 2);
        assert_eq!(format!("{id} {id:?}"), "t1 TenantId(\"t1\")");
        assert_eq!(Some(id).as_deref(), Some("t1"));
    }
}
