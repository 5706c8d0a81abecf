//! Call metrics. Labels are bounded: the API (operationIds and WeChat's own
//! paths, a fixed set), the outcome, and the errcodes tpgate knows
//! (`wechat_api::errcode::ALL`: the seeds' and the token errcodes) by value —
//! every other errcode counts as `other`. No appid or tenant label.
use store::calls::NewCall;

/// The label an errcode is counted under.
pub fn errcode_label(errcode: i64) -> String {
    if wechat_api::errcode::ALL.contains(&errcode) {
        errcode.to_string()
    } else {
        "other".to_owned()
    }
}

/// The label an API is counted under: the name when it is a known one (an
/// operationId or one of WeChat's paths tpgate knows), else `raw` (the raw
/// passthrough may name any path; a label per path would be unbounded).
fn api_label(api: &str) -> String {
    if api.starts_with('/') && !wechat_api::paths::API_PATHS.contains(&api) {
        "raw".to_owned()
    } else {
        api.to_owned()
    }
}

pub(crate) fn observe(call: &NewCall) {
    let api = api_label(&call.api);
    ::metrics::counter!(
        "tpgate_wechat_calls_total",
        "api" => api.clone(),
        "outcome" => call.outcome.as_str()
    )
    .increment(1);
    if call.outcome.sent() {
        ::metrics::histogram!("tpgate_wechat_call_duration_seconds", "api" => api)
            .record(f64::from(call.latency_ms) / 1000.0);
    }
    if let Some(errcode) = call.errcode.filter(|e| *e != 0) {
        ::metrics::counter!("tpgate_wechat_errcodes_total", "errcode" => errcode_label(errcode))
            .increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(errcode_label(10060003), "10060003");
        assert_eq!(errcode_label(-1), "-1");
        assert_eq!(errcode_label(123456789), "other");
        assert_eq!(api_label("get_order"), "get_order");
        assert_eq!(api_label("/wxa/getwxacode"), "raw");
        assert_eq!(
            api_label("/cgi-bin/component/api_component_token"),
            "/cgi-bin/component/api_component_token"
        );
    }
}
