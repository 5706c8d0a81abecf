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
    let schemas = &spec["components"]["schemas"];
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let what = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{what} lacks an operationId");
            assert!(op["summary"].is_string(), "{what} lacks a summary");
            assert!(op["tags"][0].is_string(), "{what} lacks a tag");
            for status in ["400", "401", "403", "404", "500"] {
                assert!(
                    op["responses"][status]["content"]["application/problem+json"].is_object(),
                    "{what} does not document its {status} problem"
                );
            }
            assert!(
                op["security"].is_array(),
                "{what} declares no security scheme"
            );
            if let Some(body) = op.get("requestBody") {
                let schema = &body["content"]["application/json; charset=utf-8"]["schema"];
                let name = schema["$ref"]
                    .as_str()
                    .or_else(|| schema["allOf"][0]["$ref"].as_str())
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_else(|| {
                        panic!("{what}: request body is not a named schema: {body}")
                    });
                assert!(
                    schemas[name]["example"].is_object(),
                    "{what}: request schema {name} has no example"
                );
            }
        }
    }
    app.shutdown().await;
}
