//! `tpgate sandbox` does what the README promises: the printed onboarding
//! link and upload call work as printed.
use serde_json::Value;

#[tokio::test]
async fn sandbox_instructions_work() {
    let dir =
        std::env::temp_dir().join(format!("tpgate-sandbox-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = tpgate::sandbox::SandboxArgs {
        host: "127.0.0.1".into(),
        port: 0,
        sim_port: 0,
        ops_port: 0,
        db: dir.join("sandbox.db"),
        out: dir.join("sandbox.json"),
    };
    let sandbox = tpgate::sandbox::start(&args).await.expect("sandbox starts");
    let info = sandbox.info.clone();
    let http = reqwest::Client::new(); // follows redirects, like `curl -L`
    // Step 1 as printed: the landing page (no Referer, as from an email)
    // names the sets; its button, sent with the page's origin as Referer
    // (`curl -e '<base>;auto'`), authorizes.
    let landing = http.get(&info.onboarding_url).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    assert!(landing.text().await.unwrap().contains("142"));
    assert!(
        info.next_steps[0].contains("/authorize"),
        "{}",
        info.next_steps[0]
    );
    let page = http
        .post(format!("{}/authorize", info.onboarding_url))
        .header("referer", &info.base_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("page=pc")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("142"));

    let order = &info.demo_orders[0];
    let body = tpgate::sandbox::demo_upload_body(order);
    let resp = http
        .post(format!(
            "{}v1/apps/{}/wxa/sec/order/upload_shipping_info",
            info.base_url, info.authorizer_appid
        ))
        .bearer_auth(&info.api_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["errcode"], 0);
    assert!(
        info.next_steps
            .iter()
            .any(|s| s.contains("upload_shipping_info"))
    );

    let tenants = http
        .get(format!("{}admin/v1/tenants", info.base_url))
        .bearer_auth(&info.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.status(), 200);
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
