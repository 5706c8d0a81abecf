//! Thin HTTP handlers: WeChat's endpoints (always HTTP 200 with errcode JSON,
//! like WeChat) and the `/sim` control surface.
use poem::{
    EndpointExt, IntoResponse, Response, Route, handler,
    http::StatusCode,
    web::{Data, Html, Json, Path, Query},
};
use serde::Deserialize;
use serde_json::{Value, json};
use wechat_api::{
    component::{
        AuthorizerTokenRequest, ComponentTokenRequest, PreAuthCodeRequest, QueryAuthRequest,
    },
    errcode as ec,
};

use crate::{NewOrder, Simulator, state::WxResult};

fn rid() -> String {
    let r = crate::state::random_hex(12);
    format!("{}-{}-{}", &r[..8], &r[8..16], &r[16..24])
}

fn answer(result: WxResult<Value>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err((errcode, msg)) => {
            Json(json!({ "errcode": errcode, "errmsg": format!("{msg} rid: {}", rid()) }))
                .into_response()
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> WxResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| (ec::DATA_FORMAT_ERROR, format!("data format error: {e}")))
}

#[derive(Deserialize, Default)]
struct Tokens {
    access_token: Option<String>,
    component_access_token: Option<String>,
}

impl Tokens {
    fn component(&self) -> Option<&str> {
        self.component_access_token
            .as_deref()
            .or(self.access_token.as_deref())
    }
}

#[handler]
fn start_push_ticket(sim: Data<&Simulator>, body: Vec<u8>) -> Response {
    let result = (|| {
        let mut s = sim.lock();
        s.enter("/cgi-bin/component/api_start_push_ticket")?;
        let req: Value = parse(&body)?;
        if req["component_appid"] != s.config.component_appid.as_str() {
            return Err((ec::INVALID_COMPONENT, "invalid component".to_owned()));
        }
        if req["component_secret"] != s.config.component_secret.as_str() {
            return Err((ec::INVALID_APPSECRET, "invalid appsecret".to_owned()));
        }
        Ok(json!({ "errcode": 0, "errmsg": "ok" }))
    })();
    if result.is_ok() {
        let sim = sim.0.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let _ = sim.push_ticket().await;
        });
    }
    answer(result)
}

#[handler]
fn component_token(sim: Data<&Simulator>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/cgi-bin/component/api_component_token")?;
        let req: ComponentTokenRequest = parse(&body)?;
        let (token, expires_in) = s.component_token(
            &req.component_appid,
            &req.component_appsecret,
            &req.component_verify_ticket,
        )?;
        Ok(json!({ "component_access_token": token, "expires_in": expires_in }))
    })())
}

#[handler]
fn create_preauthcode(sim: Data<&Simulator>, Query(t): Query<Tokens>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/cgi-bin/component/api_create_preauthcode")?;
        let req: PreAuthCodeRequest = parse(&body)?;
        let (code, expires_in) = s.pre_auth_code(t.component(), &req.component_appid)?;
        Ok(json!({ "pre_auth_code": code, "expires_in": expires_in }))
    })())
}

#[handler]
fn query_auth(sim: Data<&Simulator>, Query(t): Query<Tokens>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/cgi-bin/component/api_query_auth")?;
        let req: QueryAuthRequest = parse(&body)?;
        let info = s.query_auth(t.component(), &req.component_appid, &req.authorization_code)?;
        Ok(json!({ "authorization_info": info }))
    })())
}

#[handler]
fn authorizer_token(sim: Data<&Simulator>, Query(t): Query<Tokens>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/cgi-bin/component/api_authorizer_token")?;
        let req: AuthorizerTokenRequest = parse(&body)?;
        let (access, expires_in, refresh) = s.authorizer_token(
            t.component(),
            &req.component_appid,
            &req.authorizer_appid,
            &req.authorizer_refresh_token,
        )?;
        Ok(
            json!({ "authorizer_access_token": access, "expires_in": expires_in, "authorizer_refresh_token": refresh }),
        )
    })())
}

#[handler]
fn upload_shipping_info(sim: Data<&Simulator>, Query(t): Query<Tokens>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/wxa/sec/order/upload_shipping_info")?;
        s.upload_shipping_info(t.access_token.as_deref(), &body)?;
        Ok(json!({ "errcode": 0, "errmsg": "ok" }))
    })())
}

#[handler]
fn get_order(sim: Data<&Simulator>, Query(t): Query<Tokens>, body: Vec<u8>) -> Response {
    let mut s = sim.lock();
    answer((|| {
        s.enter("/wxa/sec/order/get_order")?;
        s.get_order(t.access_token.as_deref(), &body)
    })())
}

#[derive(Deserialize)]
struct PageParams {
    pre_auth_code: Option<String>,
    redirect_uri: Option<String>,
    biz_appid: Option<String>,
}

/// The authorization page (PC and mobile): the "merchant" approves at once.
#[handler]
fn authorization_page(sim: Data<&Simulator>, Query(p): Query<PageParams>) -> Response {
    let (Some(pre), Some(redirect)) = (p.pre_auth_code, p.redirect_uri) else {
        return Html("<h1>Missing pre_auth_code or redirect_uri</h1>")
            .with_status(StatusCode::BAD_REQUEST)
            .into_response();
    };
    let Ok(mut target) = url::Url::parse(&redirect) else {
        return Html("<h1>redirect_uri is not a URL</h1>")
            .with_status(StatusCode::BAD_REQUEST)
            .into_response();
    };
    let code = {
        let mut s = sim.lock();
        let _ = s.enter("/cgi-bin/componentloginpage");
        s.authorize(&pre, p.biz_appid.as_deref())
    };
    match code {
        Ok(code) => {
            target
                .query_pairs_mut()
                .append_pair("auth_code", &code)
                .append_pair("expires_in", "600");
            // WeChat answers the page with a 302 to redirect_uri.
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", target.as_str())
                .finish()
        }
        Err(why) => Html(format!("<h1>Authorization failed</h1><p>{why}</p>"))
            .with_status(StatusCode::BAD_REQUEST)
            .into_response(),
    }
}

// === control surface ===

#[handler]
async fn ctl_push_ticket(sim: Data<&Simulator>) -> Response {
    match sim.push_ticket().await {
        Ok(o) => Json(o).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct PushAuthorized {
    info_type: Option<String>,
    authorizer_appid: String,
    pre_auth_code: Option<String>,
}

#[handler]
async fn ctl_push_authorized(sim: Data<&Simulator>, Json(b): Json<PushAuthorized>) -> Response {
    let info_type = b.info_type.unwrap_or_else(|| "authorized".into());
    match sim
        .push_authorized(&info_type, &b.authorizer_appid, b.pre_auth_code.as_deref())
        .await
    {
        Ok(o) => Json(o).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct AppidBody {
    authorizer_appid: String,
}

#[handler]
async fn ctl_push_unauthorized(sim: Data<&Simulator>, Json(b): Json<AppidBody>) -> Response {
    match sim.push_unauthorized(&b.authorizer_appid).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[handler]
fn ctl_create_order(sim: Data<&Simulator>, Json(b): Json<NewOrder>) -> Json<crate::SimOrder> {
    Json(sim.create_paid_order(b))
}

#[handler]
fn ctl_order(sim: Data<&Simulator>, Path(id): Path<String>) -> Response {
    match sim.order(&id) {
        Some(o) => Json(o).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

#[handler]
fn ctl_advance(sim: Data<&Simulator>, Json(b): Json<Advance>) -> Json<Value> {
    sim.advance_clock(b.seconds);
    Json(json!({ "now": sim.now() }))
}

#[handler]
fn ctl_clock(sim: Data<&Simulator>) -> Json<Value> {
    Json(json!({ "now": sim.now() }))
}

#[handler]
fn ctl_calls(sim: Data<&Simulator>) -> Json<Value> {
    Json(json!(sim.call_counts()))
}

#[derive(Deserialize)]
struct NextAuthorization {
    appid: String,
    func_ids: Vec<i64>,
}

#[handler]
fn ctl_next_authorization(sim: Data<&Simulator>, Json(b): Json<NextAuthorization>) -> StatusCode {
    sim.set_next_authorization(&b.appid, b.func_ids);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Fault {
    path: String,
    errcode: i64,
    times: u32,
}

#[handler]
fn ctl_fault(sim: Data<&Simulator>, Json(b): Json<Fault>) -> StatusCode {
    sim.inject_fault(&b.path, b.errcode, b.times);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Gateway {
    events_url: String,
}

#[handler]
fn ctl_gateway(sim: Data<&Simulator>, Json(b): Json<Gateway>) -> StatusCode {
    sim.set_gateway_events_url(&b.events_url);
    StatusCode::NO_CONTENT
}

pub fn route(sim: Simulator) -> Route {
    let wechat = Route::new()
        .at(
            "/cgi-bin/component/api_start_push_ticket",
            poem::post(start_push_ticket),
        )
        .at(
            "/cgi-bin/component/api_component_token",
            poem::post(component_token),
        )
        .at(
            "/cgi-bin/component/api_create_preauthcode",
            poem::post(create_preauthcode),
        )
        .at("/cgi-bin/component/api_query_auth", poem::post(query_auth))
        .at(
            "/cgi-bin/component/api_authorizer_token",
            poem::post(authorizer_token),
        )
        .at(
            "/wxa/sec/order/upload_shipping_info",
            poem::post(upload_shipping_info),
        )
        .at("/wxa/sec/order/get_order", poem::post(get_order))
        .at("/cgi-bin/componentloginpage", poem::get(authorization_page))
        .at("/safe/bindcomponent", poem::get(authorization_page))
        .at("/sim/push/ticket", poem::post(ctl_push_ticket))
        .at("/sim/push/authorized", poem::post(ctl_push_authorized))
        .at("/sim/push/unauthorized", poem::post(ctl_push_unauthorized))
        .at("/sim/orders", poem::post(ctl_create_order))
        .at("/sim/orders/:transaction_id", poem::get(ctl_order))
        .at("/sim/clock", poem::get(ctl_clock))
        .at("/sim/clock/advance", poem::post(ctl_advance))
        .at("/sim/calls", poem::get(ctl_calls))
        .at(
            "/sim/next-authorization",
            poem::post(ctl_next_authorization),
        )
        .at("/sim/faults", poem::post(ctl_fault))
        .at("/sim/gateway", poem::post(ctl_gateway));
    Route::new().nest("/", wechat.data(sim))
}

#[cfg(test)]
mod tests {
    use poem::test::TestClient;

    use super::*;
    use crate::SimConfig;

    #[tokio::test]
    async fn http_errors_look_like_wechat() {
        let sim = Simulator::new(SimConfig::sandbox());
        let cli = TestClient::new(sim.endpoint());
        let resp = cli
            .post("/wxa/sec/order/get_order")
            .query("access_token", &"nope")
            .body_json(&json!({"transaction_id": "x"}))
            .send()
            .await;
        resp.assert_status_is_ok();
        let body: Value =
            serde_json::from_str(&resp.0.into_body().into_string().await.unwrap()).unwrap();
        assert_eq!(body["errcode"], 40001);
        assert!(body["errmsg"].as_str().unwrap().contains(" rid: "));
        assert_eq!(sim.call_count("/wxa/sec/order/get_order"), 1);
        sim.inject_fault("/wxa/sec/order/get_order", -1, 1);
        let resp = cli
            .post("/wxa/sec/order/get_order")
            .body_json(&json!({}))
            .send()
            .await;
        let body: Value =
            serde_json::from_str(&resp.0.into_body().into_string().await.unwrap()).unwrap();
        assert_eq!(body["errcode"], -1);
    }
}
