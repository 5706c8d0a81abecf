//! `TestApp`: one tpgate + one simulator + a fresh database per test.
use std::time::{Duration, Instant};

use admin_api::{JwtConfig, Role};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use store::Secret;
use tenant_auth::{Clock, TenantAuth};
use tpgate::Config;
use tpgate_tests::{Harness, Instance, TestDb};
use url::Url;
use wechat_sim::{SimConfig, Simulator};

pub use tpgate_tests::JWT_SECRET;

pub struct TestApp {
    pub base: Url,
    /// The ops listener (`/readyz`, `/metrics`, `/docs`).
    pub ops: Url,
    pub sim: Simulator,
    pub sim_config: SimConfig,
    /// Follows no redirects, so tests can assert each hop.
    pub http: reqwest::Client,
    pub admin_token: String,
    /// tpgate's clock (shared with replicas); [`TestApp::advance`] moves it
    /// and the simulator's together.
    pub clock: Clock,
    /// The instance's tenant-auth service, for driving tokens directly.
    pub auth: TenantAuth,
    /// The configuration the instance runs with (replicas reuse it).
    pub config: Config,
    db: TestDb,
    instance: Instance,
    sim_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Knobs of a [`TestApp`].
pub struct TestOptions {
    /// Use Redis when `TEST_REDIS_URL` is set (default); false forces the
    /// database lease path.
    pub redis: bool,
    /// Run the ticket watchdog and the refresh sweep (default off, so call
    /// counts only reflect what a test does).
    pub background_tasks: bool,
    pub sim: Box<dyn FnOnce(&mut SimConfig)>,
    pub config: Box<dyn FnOnce(&mut Config)>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            redis: true,
            background_tasks: false,
            sim: Box::new(|_| {}),
            config: Box::new(|_| {}),
        }
    }
}

/// Another tpgate instance on the same database, Redis and simulator (a
/// second replica, or the same one after a restart).
pub struct Replica {
    pub base: Url,
    pub ops: Url,
    pub auth: TenantAuth,
    instance: Instance,
}

impl Replica {
    pub async fn shutdown(mut self) {
        self.instance.stop().await;
    }
}

/// Polls `check` (every 20 ms) until it holds; panics, naming `what`, if
/// it still does not after `within`. For waiting on something observable
/// instead of sleeping for a guessed time.
pub async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(customise: impl FnOnce(&mut SimConfig) + 'static) -> Self {
        Self::start(TestOptions {
            sim: Box::new(customise),
            ..TestOptions::default()
        })
        .await
    }

    pub async fn start(options: TestOptions) -> Self {
        let mut stack = tpgate_tests::start_simulator(options.sim)
            .await
            .expect("the simulator starts");
        let mut config = stack.gateway_config(Harness::Tests);
        if !options.redis {
            config.redis_url = None;
        }
        config.background_tasks = options.background_tasks;
        (options.config)(&mut config);
        // Already migrated (from a template), unless the test is about
        // tpgate not migrating it.
        let db = TestDb::for_config(Harness::Tests, &mut config).await;
        config.validate_for_serve().unwrap();

        let clock = Clock::system();
        let instance = stack
            .start_gateway(&config, clock.clone())
            .await
            .expect("tpgate builds");

        let admin_token = jwt()
            .mint("e2e", Role::PlatformAdmin, None, chrono::Duration::hours(1))
            .unwrap();
        Self {
            base: stack.gateway_url,
            ops: instance.ops.clone(),
            sim: stack.sim,
            sim_config: stack.sim_config,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Merchant pages answer in the browser's language.
                .default_headers(reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::ACCEPT_LANGUAGE,
                    reqwest::header::HeaderValue::from_static("en-US,en;q=0.9"),
                )]))
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            admin_token,
            clock,
            auth: instance.auth.clone(),
            config,
            db,
            instance,
            sim_stop: Some(stack.sim_stop),
        }
    }

    /// Starts another instance on the same database, Redis and simulator,
    /// sharing this one's clock.
    pub async fn spawn_replica(&self) -> Replica {
        self.spawn_replica_with(|_| {}).await
    }

    /// [`TestApp::spawn_replica`] with a changed configuration (e.g. after
    /// a sealing-key rotation).
    pub async fn spawn_replica_with(&self, change: impl FnOnce(&mut Config)) -> Replica {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let mut config = self.config.clone();
        config.public_base_url = base.clone();
        change(&mut config);
        let instance = Instance::start(&config, listener, self.clock.clone())
            .await
            .expect("tpgate builds");
        Replica {
            base,
            ops: instance.ops.clone(),
            auth: instance.auth.clone(),
            instance,
        }
    }

    /// Moves tpgate's and WeChat's clocks forward together.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
        self.sim.advance_clock(secs);
    }

    /// Stops this instance's server only (the simulator and database stay),
    /// as a crashed or restarted pod would.
    pub async fn stop_instance(&mut self) {
        // Close our keep-alive connections first, so the graceful shutdown
        // has nothing to wait for.
        self.http = reqwest::Client::new();
        self.instance.stop().await;
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path.trim_start_matches('/')).unwrap()
    }

    /// A path on the ops listener.
    pub fn ops_url(&self, path: &str) -> Url {
        self.ops.join(path.trim_start_matches('/')).unwrap()
    }

    /// Makes the Postgres test database refuse connections and drops the
    /// open ones, as an outage would (no-op on SQLite).
    pub async fn cut_database(&self) {
        if let Some(db) = self.db.postgres() {
            let name = db.name();
            let admin = Database::connect(db.admin_url()).await.unwrap();
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
                ))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                ))
                .await
                .unwrap();
        }
    }

    /// Ends [`TestApp::cut_database`].
    pub async fn restore_database(&self) {
        if let Some(db) = self.db.postgres() {
            let name = db.name();
            let admin = Database::connect(db.admin_url()).await.unwrap();
            admin
                .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
                .await
                .unwrap();
        }
    }

    /// Stops the servers and drops the Postgres test database. (A test that
    /// panics before this still has its database dropped, by the guard.)
    pub async fn shutdown(mut self) {
        self.stop_instance().await;
        if let Some(sim_stop) = self.sim_stop.take() {
            let _ = sim_stop.send(());
        }
        self.db.drop_now().await;
    }

    // === admin API helpers ===

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
    }

    /// `GET /admin/v1/authorizers`, optionally for one tenant, as JSON.
    pub async fn authorizers(&self, tenant_id: Option<&str>) -> Value {
        let path = match tenant_id {
            Some(t) => format!("/admin/v1/authorizers?tenant_id={t}"),
            None => "/admin/v1/authorizers".to_owned(),
        };
        let resp = self.admin_get(&path).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn push_ticket(&self) {
        let outcome = self.sim.push_ticket().await.expect("sim pushes");
        assert_eq!((outcome.status, outcome.body.as_str()), (200, "success"));
    }

    pub async fn create_tenant(&self, name: &str) -> String {
        let resp = self
            .admin_post("/admin/v1/tenants", json!({ "name": name }))
            .await;
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn create_api_key(&self, tenant_id: &str) -> String {
        let resp = self
            .admin_post(
                &format!("/admin/v1/tenants/{tenant_id}/api-keys"),
                json!({ "name": "e2e" }),
            )
            .await;
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A key made by the platform admin with this body (scopes etc.).
    pub async fn create_api_key_with(&self, tenant_id: &str, body: Value) -> String {
        let resp = self
            .admin_post(&format!("/admin/v1/tenants/{tenant_id}/api-keys"), body)
            .await;
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn create_link(&self, tenant_id: &str) -> Url {
        let resp = self
            .admin_post(
                &format!("/admin/v1/tenants/{tenant_id}/onboarding-links"),
                json!({}),
            )
            .await;
        assert_eq!(resp.status(), 201);
        Url::parse(resp.json::<Value>().await.unwrap()["url"].as_str().unwrap()).unwrap()
    }

    /// Follows the link like a browser: the landing page (opened with no
    /// `Referer`, as from an email), its button (a form POST), WeChat's
    /// page → back to tpgate, sending the `Referer` the pages' policy
    /// (`origin`) makes a browser send. Returns the final status and HTML.
    pub async fn follow_onboarding(&self, link: &Url) -> (u16, String) {
        let mut resp = match self.start_visit(link).await {
            Ok(resp) => resp,
            Err(page) => return page,
        };
        let origin = origin_of(link);
        let mut url = link.clone();
        for _ in 0..5 {
            if !resp.status().is_redirection() {
                return (resp.status().as_u16(), resp.text().await.unwrap());
            }
            let location = resp.headers()["location"].to_str().unwrap().to_owned();
            url = url.join(&location).unwrap();
            resp = self
                .http
                .get(url.clone())
                .header("referer", &origin)
                .send()
                .await
                .unwrap();
        }
        panic!("too many redirects from {link}");
    }

    /// The landing page, then its button: the answer to the button (a
    /// redirect to WeChat's page when all is well), or the landing page's
    /// status and HTML when it was not 200.
    pub async fn start_visit(&self, link: &Url) -> Result<reqwest::Response, (u16, String)> {
        let landing = self.http.get(link.clone()).send().await.unwrap();
        let status = landing.status().as_u16();
        let policy = landing
            .headers()
            .get("referrer-policy")
            .map(|v| v.to_str().unwrap().to_owned());
        let html = landing.text().await.unwrap();
        if status != 200 {
            return Err((status, html));
        }
        assert_eq!(policy.as_deref(), Some("origin"), "landing page policy");
        let (action, fields) = landing_form(&html);
        Ok(self
            .http
            .post(link.join(&action).unwrap())
            .header("referer", origin_of(link))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish(),
            )
            .send()
            .await
            .unwrap())
    }

    /// [`TestApp::start_visit`]'s redirect target: WeChat's page URL.
    pub async fn wechat_page_for(&self, link: &Url) -> String {
        let resp = self.start_visit(link).await.expect("landing page");
        assert!(resp.status().is_redirection(), "{}", resp.status());
        resp.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Ticket, tenant, key, link, onboarding: returns (tenant_id, api_key, appid).
    pub async fn onboarded_tenant(&self, name: &str) -> (String, String, String) {
        self.push_ticket().await;
        let tenant = self.create_tenant(name).await;
        let key = self.create_api_key(&tenant).await;
        let link = self.create_link(&tenant).await;
        let (status, html) = self.follow_onboarding(&link).await;
        assert_eq!(status, 200, "{html}");
        (
            tenant,
            key,
            self.sim_config.default_authorizer_appid.clone(),
        )
    }

    pub async fn proxy(&self, key: &str, appid: &str, api: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(&format!("/v1/apps/{appid}/wxa/sec/order/{api}")))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// A proxied call's answer: status, headers, JSON body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// `POST {base}/v1/apps/{appid}{wechat_path}` with `key`, and an
    /// `Idempotency-Key` when given.
    pub async fn call(
        &self,
        base: &Url,
        key: &str,
        appid: &str,
        wechat_path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Answer {
        self.call_with(base, key, appid, wechat_path, body, idempotency_key, &[])
            .await
    }

    /// [`TestApp::call`] with more request headers.
    #[allow(clippy::too_many_arguments)] // the call's parts, as `call` names them
    pub async fn call_with(
        &self,
        base: &Url,
        key: &str,
        appid: &str,
        wechat_path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = base.join(&format!("v1/apps/{appid}{wechat_path}")).unwrap();
        let mut req = self.http.post(url).bearer_auth(key).json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// `GET /v1/apps/{appid}{wechat_path}`: one of WeChat's GET APIs.
    pub async fn call_get(&self, base: &Url, key: &str, appid: &str, wechat_path: &str) -> Answer {
        let url = base.join(&format!("v1/apps/{appid}{wechat_path}")).unwrap();
        let resp = self.http.get(url).bearer_auth(key).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// Has tpgate fetch WeChat's courier lists now (`GET /v1/couriers`),
    /// so a later upload's courier check needs no WeChat call.
    pub async fn warm_couriers(&self, key: &str) {
        let resp = self
            .http
            .get(self.url("/v1/couriers?limit=1"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["lists"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["available"] == true),
            "{body}"
        );
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// The HS256 setup every test instance accepts (see `JWT_SECRET`).
pub fn jwt() -> JwtConfig {
    JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: Some(Secret::new(JWT_SECRET)),
        public_keys: admin_api::jwt::PublicKeys::none(),
    }
}

/// An order/add body for the helper: SF with its cash account.
pub fn add_body(order_id: &str, openid: &str) -> Value {
    json!({
        "add_source": 0, "order_id": order_id, "openid": openid,
        "delivery_id": "SF", "biz_id": "SF_CASH",
        "sender": { "name": "张三", "mobile": "13800138000", "province": "广东省", "city": "广州市", "area": "海珠区", "address": "XX路1号" },
        "receiver": { "name": "李四", "mobile": "13900139000", "province": "广东省", "city": "深圳市", "area": "南山区", "address": "YY路2号" },
        "cargo": { "count": 1, "weight": 1.2, "space_x": 20, "space_y": 15, "space_z": 10, "detail_list": [{ "name": "微信气泡狗", "count": 1 }] },
        "shop": { "wxa_path": "/pages/order/detail?id=1", "detail_list": [{ "goods_name": "微信气泡狗", "goods_img_url": "https://img.example.com/dog.png" }] },
        "insured": { "use_insured": 0, "insured_value": 0 },
        "service": { "service_type": 0, "service_name": "标准快递" },
        "expect_time": 1_700_000_000
    })
}

/// A valid upload_shipping_info body for a simulator order.
/// The durable-shipment worker polling every 50 ms and retrying every
/// second, with a WeChat timeout of a second: a test's shipments settle
/// in seconds.
pub fn quick_shipments(c: &mut Config) {
    c.wechat.timeout_secs = 1;
    c.shipments.first_retry_secs = 1;
    c.shipments.max_retry_secs = 1;
    c.shipments.poll_interval_ms = 50;
}

pub fn upload_body(transaction_id: &str, openid: &str, tracking_no: &str) -> Value {
    json!({
        "order_key": { "order_number_type": 2, "transaction_id": transaction_id },
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{
            "tracking_no": tracking_no,
            "express_company": "STO",
            "item_desc": "微信气泡狗集线器*1",
            "contact": { "consignor_contact": "+86-177****1234" }
        }],
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": { "openid": openid }
    })
}

/// `scheme://host[:port]/`: the `Referer` a page with `Referrer-Policy:
/// origin` makes a browser send.
pub fn origin_of(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}://{}:{port}/", url.scheme(), url.host_str().unwrap()),
        None => format!("{}://{}/", url.scheme(), url.host_str().unwrap()),
    }
}

/// The landing page's form: its action and hidden fields.
pub fn landing_form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}="))? + name.len() + 1;
        let rest = &tag[start..];
        let value = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next()?,
            None => rest.split([' ', '>']).next()?,
        };
        Some(value.replace("&amp;", "&"))
    };
    let form = html
        .split("<form")
        .nth(1)
        .expect("a form on the landing page");
    let form = form.split("</form>").next().unwrap();
    let action = attr(form, "action").expect("the form's action");
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|input| Some((attr(input, "name")?, attr(input, "value")?)))
        .collect();
    (action, fields)
}
