//! [`Secret`]: a string that never prints itself.

/// A secret value (token, ticket, key). `Debug` and `Display` print `<redacted>`,
/// so a secret that ends up in a log line or error message shows nothing.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where it leaves the process on purpose
    /// (the WeChat request that needs it, a sealed column).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Read from configuration. Any scalar is taken as its text: a message token
/// of digits only is valid for WeChat, and config loaders (figment) hand it
/// over as a number. A value of the wrong shape is refused **without quoting
/// it** (serde's usual "invalid type: string \"…\"" would print the secret).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'v> serde::de::Visitor<'v> for Visitor {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a secret as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
                // Its text is already lost (1e3, 0.10): say so, never guess.
                Err(E::custom(
                    "a secret that looks like a decimal number must be quoted (or given in a _FILE)",
                ))
            }
            fn visit_seq<A: serde::de::SeqAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(serde::de::Error::custom(
                    "expected a secret as a string, found a list (value not shown)",
                ))
            }
            fn visit_map<A: serde::de::MapAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(serde::de::Error::custom(
                    "expected a secret as a string, found a table (value not shown)",
                ))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `#[serde(deserialize_with = "store::secret::list")]` for a list of
/// secrets: like [`Secret`]'s own, a value of the wrong shape is refused
/// without quoting it (`Vec`'s derive would print a bare string it got).
pub fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<Secret>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of secrets, e.g. [k1, k2]")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<Secret>()? {
                out.push(s);
            }
            Ok(out)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(
                "expected a list of secrets in brackets, e.g. [k1, k2], found one value (not shown)",
            ))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            self.visit_str("")
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            self.visit_str("")
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            self.visit_str("")
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            self.visit_str("")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(serde::de::Error::custom(
                "expected a list of secrets in brackets, found a table (not shown)",
            ))
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_a_secret_and_errors_never_quote_the_value() {
        let s: Secret = serde_json::from_str("987654321").unwrap();
        assert_eq!(s.expose(), "987654321");
        let s: Secret = serde_json::from_str("\"0123\"").unwrap();
        assert_eq!(s.expose(), "0123");
        let err = serde_json::from_str::<Secret>("[\"topsecretvalue\"]")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("topsecretvalue"), "{err}");
        let mut de = serde_json::Deserializer::from_str("\"topsecretvalue\"");
        let err = list(&mut de).unwrap_err().to_string();
        assert!(!err.contains("topsecretvalue"), "{err}");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    }
}
