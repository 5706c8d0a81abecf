//! The committed spec must be exactly what the code generates (and serves).
use crate::helpers::TestApp;

const COMMITTED: &str = include_str!("../../openapi/tpgate.json");

#[tokio::test]
async fn committed_spec_matches_code_and_server() {
    let generated = tpgate::spec_json();
    assert!(
        generated.trim() == COMMITTED.trim(),
        "openapi/tpgate.json is stale: run `cargo run -q -p tpgate -- openapi > openapi/tpgate.json` and commit it"
    );
    let app = TestApp::spawn().await;
    let served = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served.trim(), COMMITTED.trim());
    let spec: serde_json::Value = serde_json::from_str(&served).unwrap();
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} lacks an operationId"
            );
        }
    }
    app.shutdown().await;
}
