//! Bodies kept in the call log when a tenant asks: bounded, and never a
//! token (a key naming a token, secret or ticket is replaced, wherever it is
//! in the JSON).

/// `value` as JSON, token-like keys redacted, cut to `max` bytes (at a
/// character boundary, marked).
pub fn capture(value: &serde_json::Value, max: usize) -> String {
    let mut value = value.clone();
    redact(&mut value);
    let text = value.to_string();
    truncate(text, max)
}

/// A body that is not JSON (or could not be read as such): bounded text.
pub fn capture_text(bytes: &[u8], max: usize) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => capture(&value, max),
        Err(_) => truncate(String::from_utf8_lossy(bytes).into_owned(), max),
    }
}

fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let key = key.to_ascii_lowercase();
                if ["token", "secret", "ticket", "password"]
                    .iter()
                    .any(|s| key.contains(s))
                {
                    *v = serde_json::Value::String("[redacted]".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

const CUT: &str = "…[truncated]";

fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(CUT.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT);
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_never_survive_and_bodies_are_bounded() {
        let body = json!({
            "order_key": {"transaction_id": "42"},
            "nested": [{"access_token": "AT", "Component_Access_Token": "CT"}],
            "refresh_token": "RT",
            "zz_item_desc": "茶".repeat(5000),
        });
        let kept = capture(&body, 1024);
        assert!(kept.len() <= 1024, "{}", kept.len());
        assert!(kept.ends_with(CUT));
        for secret in ["AT", "CT", "RT"] {
            assert!(!kept.contains(&format!("\"{secret}\"")), "{kept}");
        }
        assert!(kept.contains("\"transaction_id\":\"42\""));
        assert_eq!(capture_text(b"not json", 100), "not json");
    }
}
