//! The simulator's domain: plain data and rules, no HTTP.
use std::collections::{BTreeMap, HashMap};

use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wechat_api::{
    Validate,
    component::{AuthorizationInfo, ConfirmInfo, FuncInfo, FuncscopeCategory},
    errcode as ec,
    shipping::{GetOrderRequest, OrderShipping, OrderShippingItem, UploadShippingInfoRequest},
};

use crate::SimConfig;

/// A WeChat error: errcode and message (the rid is added when answering).
pub type WxError = (i64, String);
pub type WxResult<T> = Result<T, WxError>;

const CODE_TTL: i64 = 600;
const TICKET_TTL: i64 = 12 * 3600;

pub fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// A paid order to create (all fields defaulted).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub appid: Option<String>,
    pub openid: Option<String>,
    pub mchid: Option<String>,
    pub out_trade_no: Option<String>,
    pub paid_amount: Option<i64>,
    pub description: Option<String>,
}

/// A created order's identifiers.
#[derive(Debug, Clone, Serialize)]
pub struct SimOrder {
    pub appid: String,
    pub transaction_id: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub openid: String,
    pub paid_amount: i64,
}

#[derive(Debug, Clone)]
struct Order {
    ids: SimOrder,
    description: String,
    created_at: i64,
    order_state: i64,
    shipping: Option<OrderShipping>,
}

#[derive(Debug, Clone)]
struct Grant {
    appid: String,
    func_ids: Vec<i64>,
    expires_at: i64,
}

#[derive(Debug, Clone)]
struct Authorization {
    refresh_token: String,
    func_ids: Vec<i64>,
    revoked: bool,
}

pub struct State {
    pub config: SimConfig,
    pub clock_offset: i64,
    pub calls: BTreeMap<String, u64>,
    pub faults: HashMap<String, (i64, u32)>,
    pub next_authorization: Option<(String, Vec<i64>)>,
    /// Tickets pushed, with the time pushed.
    tickets: HashMap<String, i64>,
    component_tokens: HashMap<String, i64>,
    pre_auth_codes: HashMap<String, (i64, bool)>,
    auth_codes: HashMap<String, Grant>,
    authorizations: HashMap<String, Authorization>,
    access_tokens: HashMap<String, (String, i64)>,
    orders: HashMap<String, Order>,
}

impl State {
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            clock_offset: 0,
            calls: BTreeMap::new(),
            faults: HashMap::new(),
            next_authorization: None,
            tickets: HashMap::new(),
            component_tokens: HashMap::new(),
            pre_auth_codes: HashMap::new(),
            auth_codes: HashMap::new(),
            authorizations: HashMap::new(),
            access_tokens: HashMap::new(),
            orders: HashMap::new(),
        }
    }

    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_offset
    }

    /// Counts the call and answers an injected fault, if one is pending.
    pub fn enter(&mut self, path: &str) -> WxResult<()> {
        *self.calls.entry(path.to_owned()).or_default() += 1;
        if let Some((code, times)) = self.faults.get_mut(path)
            && *times > 0
        {
            *times -= 1;
            return Err((*code, "injected fault".into()));
        }
        Ok(())
    }

    pub fn new_ticket(&mut self) -> String {
        let ticket = format!("ticket@@@{}", random_hex(24));
        let now = self.now();
        self.tickets.insert(ticket.clone(), now);
        ticket
    }

    fn check_component(&self, appid: &str) -> WxResult<()> {
        if appid != self.config.component_appid {
            return Err((ec::INVALID_COMPONENT, "invalid component".into()));
        }
        Ok(())
    }

    pub fn component_token(
        &mut self,
        appid: &str,
        secret: &str,
        ticket: &str,
    ) -> WxResult<(String, i64)> {
        self.check_component(appid)?;
        if secret != self.config.component_secret {
            return Err((ec::INVALID_APPSECRET, "invalid appsecret".into()));
        }
        let pushed_at = *self
            .tickets
            .get(ticket)
            .ok_or((ec::TICKET_INVALID, "component ticket is invalid".to_owned()))?;
        if self.now() - pushed_at > TICKET_TTL {
            return Err((ec::TICKET_EXPIRED, "component ticket is expired".into()));
        }
        let token = format!("component_token_{}", random_hex(16));
        let ttl = self.config.token_ttl_secs;
        self.component_tokens
            .insert(token.clone(), self.now() + ttl);
        Ok((token, ttl))
    }

    fn check_token(&self, table: &HashMap<String, i64>, token: Option<&str>) -> WxResult<()> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or((ec::ACCESS_TOKEN_MISSING, "access_token missing".to_owned()))?;
        match table.get(token) {
            None => Err((
                ec::INVALID_CREDENTIAL,
                "invalid credential, access_token is invalid or not latest".into(),
            )),
            Some(expires) if *expires <= self.now() => {
                Err((ec::ACCESS_TOKEN_EXPIRED, "access_token expired".into()))
            }
            Some(_) => Ok(()),
        }
    }

    pub fn check_component_token(&self, token: Option<&str>) -> WxResult<()> {
        self.check_token(&self.component_tokens, token)
    }

    pub fn pre_auth_code(&mut self, token: Option<&str>, appid: &str) -> WxResult<(String, i64)> {
        self.check_component_token(token)?;
        self.check_component(appid)?;
        let code = format!("preauthcode@@@{}", random_hex(16));
        self.pre_auth_codes
            .insert(code.clone(), (self.now() + CODE_TTL, false));
        Ok((code, CODE_TTL))
    }

    /// The authorization page: consumes the pre_auth_code, issues an auth code.
    pub fn authorize(
        &mut self,
        pre_auth_code: &str,
        biz_appid: Option<&str>,
    ) -> Result<String, String> {
        let now = self.now();
        match self.pre_auth_codes.get_mut(pre_auth_code) {
            None => return Err("unknown pre_auth_code".into()),
            Some((expires, _)) if *expires <= now => return Err("pre_auth_code expired".into()),
            Some((_, true)) => return Err("pre_auth_code already used".into()),
            Some((_, used)) => *used = true,
        }
        let (appid, func_ids) = self.next_authorization.take().unwrap_or_else(|| {
            (
                biz_appid
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.config.default_authorizer_appid.clone()),
                self.config.default_func_ids.clone(),
            )
        });
        Ok(self.grant(&appid, func_ids))
    }

    /// Records an authorization (new refresh token) and returns its auth code.
    pub fn grant(&mut self, appid: &str, func_ids: Vec<i64>) -> String {
        self.authorizations.insert(
            appid.to_owned(),
            Authorization {
                refresh_token: format!("refreshtoken@@@{}", random_hex(16)),
                func_ids: func_ids.clone(),
                revoked: false,
            },
        );
        let code = format!("queryauthcode@@@{}", random_hex(16));
        let expires_at = self.now() + CODE_TTL;
        self.auth_codes.insert(
            code.clone(),
            Grant {
                appid: appid.to_owned(),
                func_ids,
                expires_at,
            },
        );
        code
    }

    pub fn revoke(&mut self, appid: &str) {
        if let Some(a) = self.authorizations.get_mut(appid) {
            a.revoked = true;
        }
        self.access_tokens.retain(|_, (owner, _)| owner != appid);
    }

    fn issue_access_token(&mut self, appid: &str) -> (String, i64) {
        let token = format!("authorizer_token_{}", random_hex(16));
        let ttl = self.config.token_ttl_secs;
        self.access_tokens
            .insert(token.clone(), (appid.to_owned(), self.now() + ttl));
        (token, ttl)
    }

    pub fn query_auth(
        &mut self,
        token: Option<&str>,
        appid: &str,
        code: &str,
    ) -> WxResult<AuthorizationInfo> {
        self.check_component_token(token)?;
        self.check_component(appid)?;
        let grant = self
            .auth_codes
            .get(code)
            .cloned()
            .ok_or((ec::INVALID_CODE, "invalid code".to_owned()))?;
        if grant.expires_at <= self.now() {
            return Err((ec::AUTH_CODE_EXPIRED, "authorization code expired".into()));
        }
        let refresh = self
            .authorizations
            .get(&grant.appid)
            .map(|a| a.refresh_token.clone())
            .unwrap_or_default();
        let (access, ttl) = self.issue_access_token(&grant.appid);
        Ok(AuthorizationInfo {
            authorizer_appid: grant.appid,
            authorizer_access_token: Some(access),
            expires_in: Some(ttl),
            authorizer_refresh_token: Some(refresh),
            func_info: grant
                .func_ids
                .iter()
                .map(|id| FuncInfo {
                    funcscope_category: FuncscopeCategory { id: *id },
                    confirm_info: (*id == 142).then_some(ConfirmInfo {
                        need_confirm: 0,
                        already_confirm: 0,
                        can_confirm: 0,
                    }),
                })
                .collect(),
        })
    }

    pub fn authorizer_token(
        &mut self,
        token: Option<&str>,
        appid: &str,
        authorizer: &str,
        refresh: &str,
    ) -> WxResult<(String, i64, String)> {
        self.check_component_token(token)?;
        self.check_component(appid)?;
        let auth = self.authorizations.get(authorizer).cloned().ok_or((
            ec::REFRESH_TOKEN_INVALID,
            "refresh_token is invalid".to_owned(),
        ))?;
        if auth.revoked {
            return Err((
                ec::COMPONENT_NOT_AUTHORIZED,
                "component is not authorized by this account".into(),
            ));
        }
        if auth.refresh_token != refresh {
            return Err((ec::REFRESH_TOKEN_INVALID, "refresh_token is invalid".into()));
        }
        let (access, ttl) = self.issue_access_token(authorizer);
        Ok((access, ttl, auth.refresh_token))
    }

    /// Checks an authorizer token and that the authorizer holds 142 or 18.
    fn shipping_caller(&self, token: Option<&str>) -> WxResult<String> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or((ec::ACCESS_TOKEN_MISSING, "access_token missing".to_owned()))?;
        let (appid, expires) = self.access_tokens.get(token).cloned().ok_or((
            ec::INVALID_CREDENTIAL,
            "invalid credential, access_token is invalid or not latest".to_owned(),
        ))?;
        if expires <= self.now() {
            return Err((ec::ACCESS_TOKEN_EXPIRED, "access_token expired".into()));
        }
        let granted = self
            .authorizations
            .get(&appid)
            .is_some_and(|a| !a.revoked && a.func_ids.iter().any(|f| *f == 142 || *f == 18));
        if !granted {
            return Err((ec::API_UNAUTHORIZED, "api unauthorized".into()));
        }
        Ok(appid)
    }

    pub fn create_order(&mut self, new: NewOrder) -> SimOrder {
        let n = self.orders.len() + 1;
        let ids = SimOrder {
            appid: new
                .appid
                .unwrap_or_else(|| self.config.default_authorizer_appid.clone()),
            transaction_id: format!("4200{:06}{}", n, &random_hex(8)),
            mchid: new.mchid.unwrap_or_else(|| "1900000109".into()),
            out_trade_no: new
                .out_trade_no
                .unwrap_or_else(|| format!("sim-order-{n}-{}", random_hex(4))),
            openid: new
                .openid
                .unwrap_or_else(|| format!("oSim{}", random_hex(12))),
            paid_amount: new.paid_amount.unwrap_or(100 * n as i64),
        };
        let order = Order {
            ids: ids.clone(),
            description: new
                .description
                .unwrap_or_else(|| format!("Demo goods #{n}")),
            created_at: self.now(),
            order_state: 1,
            shipping: None,
        };
        self.orders.insert(ids.transaction_id.clone(), order);
        ids
    }

    fn find_order(
        &self,
        appid: &str,
        transaction_id: Option<&str>,
        mchid: Option<&str>,
        out_trade_no: Option<&str>,
    ) -> WxResult<String> {
        self.orders
            .values()
            .find(|o| {
                o.ids.appid == appid
                    && match transaction_id.filter(|t| !t.is_empty()) {
                        Some(t) => o.ids.transaction_id == t,
                        None => {
                            Some(o.ids.mchid.as_str()) == mchid
                                && Some(o.ids.out_trade_no.as_str()) == out_trade_no
                        }
                    }
            })
            .map(|o| o.ids.transaction_id.clone())
            .ok_or((
                ec::PAYMENT_ORDER_NOT_FOUND,
                "payment order not exist".to_owned(),
            ))
    }

    pub fn upload_shipping_info(&mut self, token: Option<&str>, body: &[u8]) -> WxResult<()> {
        let appid = self.shipping_caller(token)?;
        let req: UploadShippingInfoRequest = serde_json::from_slice(body)
            .map_err(|e| (ec::DATA_FORMAT_ERROR, format!("data format error: {e}")))?;
        req.validate().map_err(|e| (e.errcode, e.message))?;
        let key = &req.order_key;
        let id = if key.order_number_type == 2 {
            self.find_order(&appid, key.transaction_id.as_deref(), None, None)?
        } else {
            self.find_order(
                &appid,
                None,
                key.mchid.as_deref(),
                key.out_trade_no.as_deref(),
            )?
        };
        let upload_time = chrono::DateTime::parse_from_rfc3339(&req.upload_time)
            .map(|t| t.timestamp())
            .unwrap_or_else(|_| self.now());
        let order = self.orders.get_mut(&id).expect("found above");
        if order.ids.openid != req.payer.openid {
            return Err((
                ec::PAYER_MISMATCH,
                "the payer of this order is not this openid".into(),
            ));
        }
        let previous_count = match (order.order_state, &order.shipping) {
            (1, _) => 0,
            (2, Some(s)) if s.finish_shipping_count < 2 => s.finish_shipping_count,
            (2, _) => {
                return Err((
                    ec::RESHIPMENT_USED,
                    "payment order has used the re-shipment opportunity".into(),
                ));
            }
            _ => return Err((ec::NOT_SHIPPABLE, "payment order is not shippable".into())),
        };
        let finished = req.delivery_mode == 1 || req.is_all_delivered == Some(true);
        let goods_desc = req
            .shipping_list
            .iter()
            .filter_map(|i| i.item_desc.clone())
            .collect::<Vec<_>>()
            .join(";");
        order.shipping = Some(OrderShipping {
            delivery_mode: req.delivery_mode,
            logistics_type: req.logistics_type,
            finish_shipping: finished,
            goods_desc,
            finish_shipping_count: if finished {
                previous_count + 1
            } else {
                previous_count
            },
            shipping_list: req
                .shipping_list
                .iter()
                .map(|i| OrderShippingItem {
                    tracking_no: i.tracking_no.clone().unwrap_or_default(),
                    express_company: i.express_company.clone().unwrap_or_default(),
                    goods_desc: i.item_desc.clone(),
                    upload_time,
                    contact: i.contact.clone(),
                })
                .collect(),
        });
        if finished {
            order.order_state = 2;
        }
        Ok(())
    }

    pub fn get_order(&self, token: Option<&str>, body: &[u8]) -> WxResult<Value> {
        let appid = self.shipping_caller(token)?;
        let req: GetOrderRequest = serde_json::from_slice(body)
            .map_err(|e| (ec::DATA_FORMAT_ERROR, format!("data format error: {e}")))?;
        req.validate().map_err(|e| (e.errcode, e.message))?;
        let id = self.find_order(
            &appid,
            req.transaction_id.as_deref(),
            req.merchant_id.as_deref(),
            req.merchant_trade_no.as_deref(),
        )?;
        Ok(json!({ "errcode": 0, "errmsg": "ok", "order": self.order_json(&id) }))
    }

    pub fn order_json(&self, transaction_id: &str) -> Option<Value> {
        let o = self.orders.get(transaction_id)?;
        Some(json!({
            "transaction_id": o.ids.transaction_id,
            "merchant_id": o.ids.mchid,
            "sub_merchant_id": "",
            "merchant_trade_no": o.ids.out_trade_no,
            "description": o.description,
            "paid_amount": o.ids.paid_amount,
            "openid": o.ids.openid,
            "trade_create_time": o.created_at,
            "pay_time": o.created_at,
            "order_state": o.order_state,
            "in_complaint": false,
            "shipping": o.shipping.as_ref().map(|s| serde_json::to_value(s).unwrap_or_default()).unwrap_or_else(|| json!({})),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorized() -> (State, String, SimOrder) {
        let mut s = State::new(SimConfig::sandbox());
        let appid = s.config.default_authorizer_appid.clone();
        let code = s.grant(&appid, vec![142]);
        let ticket = s.new_ticket();
        let (ct, _) = s
            .component_token(
                &s.config.component_appid.clone(),
                &s.config.component_secret.clone(),
                &ticket,
            )
            .unwrap();
        let info = s
            .query_auth(Some(&ct), &s.config.component_appid.clone(), &code)
            .unwrap();
        let order = s.create_order(NewOrder::default());
        (s, info.authorizer_access_token.unwrap(), order)
    }

    fn upload(o: &SimOrder) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "order_key": {"order_number_type": 2, "transaction_id": o.transaction_id},
            "logistics_type": 1, "delivery_mode": 1,
            "shipping_list": [{"tracking_no": "T1", "express_company": "STO", "item_desc": "x*1"}],
            "upload_time": "2022-12-15T13:29:35.120+08:00",
            "payer": {"openid": o.openid}
        }))
        .unwrap()
    }

    #[test]
    fn ship_reship_then_10060003() {
        let (mut s, token, order) = authorized();
        s.upload_shipping_info(Some(&token), &upload(&order))
            .unwrap();
        s.upload_shipping_info(Some(&token), &upload(&order))
            .unwrap();
        assert_eq!(
            s.upload_shipping_info(Some(&token), &upload(&order))
                .unwrap_err()
                .0,
            10060003
        );
        let o = s.order_json(&order.transaction_id).unwrap();
        assert_eq!(o["order_state"], 2);
        assert_eq!(o["shipping"]["finish_shipping_count"], 2);
    }

    #[test]
    fn tokens_expire_and_rules_apply() {
        let (mut s, token, order) = authorized();
        assert_eq!(
            s.upload_shipping_info(Some("nope"), &upload(&order))
                .unwrap_err()
                .0,
            40001
        );
        assert_eq!(
            s.upload_shipping_info(None, &upload(&order)).unwrap_err().0,
            41001
        );
        assert_eq!(
            s.upload_shipping_info(Some(&token), b"{").unwrap_err().0,
            47001
        );
        let mut bad: Value = serde_json::from_slice(&upload(&order)).unwrap();
        bad["shipping_list"][0]["item_desc"] = Value::Null;
        assert_eq!(
            s.upload_shipping_info(Some(&token), &serde_json::to_vec(&bad).unwrap())
                .unwrap_err()
                .0,
            10060008
        );
        let mut other_payer: Value = serde_json::from_slice(&upload(&order)).unwrap();
        other_payer["payer"]["openid"] = json!("someone-else");
        assert_eq!(
            s.upload_shipping_info(Some(&token), &serde_json::to_vec(&other_payer).unwrap())
                .unwrap_err()
                .0,
            10060031
        );
        s.clock_offset += 7200;
        assert_eq!(
            s.upload_shipping_info(Some(&token), &upload(&order))
                .unwrap_err()
                .0,
            42001
        );
    }

    #[test]
    fn tickets_codes_and_permission_sets() {
        let mut s = State::new(SimConfig::sandbox());
        let (appid, secret) = (
            s.config.component_appid.clone(),
            s.config.component_secret.clone(),
        );
        assert_eq!(
            s.component_token(&appid, &secret, "ticket@@@forged")
                .unwrap_err()
                .0,
            61006
        );
        assert_eq!(
            s.component_token(&appid, "wrong", "x").unwrap_err().0,
            40125
        );
        assert_eq!(s.component_token("wx0", &secret, "x").unwrap_err().0, 61011);
        let ticket = s.new_ticket();
        let (ct, _) = s.component_token(&appid, &secret, &ticket).unwrap();
        let (pre, _) = s.pre_auth_code(Some(&ct), &appid).unwrap();
        s.set_next("wx00000000000000aa", vec![17]);
        let code = s.authorize(&pre, None).unwrap();
        assert!(
            s.authorize(&pre, None).is_err(),
            "pre_auth_code is single-use"
        );
        let info = s.query_auth(Some(&ct), &appid, &code).unwrap();
        assert_eq!(info.authorizer_appid, "wx00000000000000aa");
        let token = info.authorizer_access_token.unwrap();
        assert_eq!(
            s.get_order(Some(&token), b"{\"transaction_id\":\"x\"}")
                .unwrap_err()
                .0,
            48001
        );
        s.clock_offset += TICKET_TTL + 1;
        assert_eq!(
            s.component_token(&appid, &secret, &ticket).unwrap_err().0,
            61005
        );
    }

    impl State {
        fn set_next(&mut self, appid: &str, funcs: Vec<i64>) {
            self.next_authorization = Some((appid.into(), funcs));
        }
    }
}
