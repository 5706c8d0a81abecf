"""wechatpy (a real WeChat SDK) against tpgate's WeChat-compatible host.

Usage: python test_wechatpy.py SANDBOX_JSON

SANDBOX_JSON is what `tpgate sandbox --out` wrote; its onboarding link must have been
followed (tools/sdks/run.sh does it). The SDK talks to `compat_url` when the JSON has
one, else to `base_url`; the admin API and the simulator's /sim controls are used
directly (plain requests) only to set the scene: a key to revoke, Mini Programs of
another tenant, without set 142, or rate-limited.

How wechatpy 1.8.18 is pointed at tpgate: `WeChatClient.API_BASE_URL` (class
attribute, used for relative endpoints by `client.get/post`) set to <compat>/cgi-bin/,
and `fetch_access_token` overridden, because wechatpy hard-codes
https://api.weixin.qq.com/cgi-bin/token there: the override calls wechatpy's own
`_fetch_access_token` with the same parameters on <compat>/cgi-bin/token. The
shipping APIs are not wrapped by wechatpy, so they go through its generic
`client.post("wxa/sec/order/...", data=..., api_base_url=<compat>)`, which adds
`?access_token=` and, on 40001/40014/42001, fetches a new token and retries (with no
bound: tpgate must make that loop end).

Every HTTP request wechatpy makes is recorded through a hook on its requests session
(method, path, HTTP status, content type, errcode) and each case runs under an alarm,
so a hang or a retry loop fails the case instead of the run.
Ends with 'N passed, N failed' and exits 1 if any case failed.
"""

from __future__ import annotations

import json
import secrets
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from wechatpy.client import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

with open(sys.argv[1]) as f:
    SANDBOX: dict[str, Any] = json.load(f)
BASE = SANDBOX["base_url"].rstrip("/") + "/"
COMPAT = (SANDBOX.get("compat_url") or SANDBOX["base_url"]).rstrip("/") + "/"
SIM = SANDBOX["simulator_url"].rstrip("/") + "/"
APPID = SANDBOX["authorizer_appid"]
DEMO_KEY = SANDBOX["api_key"]
ORDER = SANDBOX["demo_orders"][0]  # the Node test ships demo order 1
CASE_TIMEOUT = 60  # seconds per case: a hang fails the case
MAX_REQUESTS = 12  # per client and case: more means a retry loop

# Seed errcodes (crates/wechat-api/src/shipping/mod.rs).
UNIFIED_NEEDS_ONE_ENTRY = 268485228
MISSING_TRANSACTION_ID = 268485195
GET_ORDER_NEEDS_ID = 10060014
ORDER_NOT_FOUND = 10060001  # WeChat's own (the simulator's) answer, passed through
MISSING_PERMISSION_SET = 61007  # what WeChat answers a platform whose authorizer has not granted the set (protocol.md §9)


class TpgateWeChatClient(WeChatClient):
    """wechatpy's WeChatClient on tpgate's WeChat-compatible host."""

    API_BASE_URL = COMPAT + "cgi-bin/"

    def fetch_access_token(self):  # wechatpy's URL is hard-coded to api.weixin.qq.com
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class Recorder:
    """Every request of one client: a hook on wechatpy's own requests.Session."""

    def __init__(self, client: WeChatClient) -> None:
        self.log: list[dict[str, Any]] = []
        client._http.hooks["response"].append(self._hook)

    def _hook(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        url = urlsplit(resp.request.url)
        try:
            body = resp.json()
        except ValueError:
            body = None
        self.log.append(
            {
                "method": resp.request.method,
                "path": url.path,
                "query": parse_qs(url.query),
                "status": resp.status_code,
                "content_type": resp.headers.get("content-type", ""),
                "body": body if body is not None else resp.text[:300],
                "errcode": body.get("errcode") if isinstance(body, dict) else None,
            }
        )
        if len(self.log) > MAX_REQUESTS:
            raise RuntimeError(f"{len(self.log)} requests from one client in one case: a retry loop? {self.brief()}")

    def mark(self) -> int:
        return len(self.log)

    def since(self, mark: int) -> list[dict[str, Any]]:
        return self.log[mark:]

    def brief(self, entries: list[dict[str, Any]] | None = None) -> str:
        rows = []
        for e in self.log if entries is None else entries:
            body = json.dumps(e["body"], ensure_ascii=False)[:240]
            rows.append(f"\n      {e['method']} {e['path']} -> HTTP {e['status']} [{e['content_type']}] {body}")
        return "".join(rows) or " (no requests)"


def client_for(appid: str, secret: str) -> tuple[TpgateWeChatClient, Recorder]:
    client = TpgateWeChatClient(appid, secret, timeout=20)
    return client, Recorder(client)


def wxa(client: WeChatClient, api: str, body: dict[str, Any]) -> dict[str, Any]:
    """A /wxa/sec/order/* call through wechatpy's generic post (URL: <compat>wxa/sec/order/<api>)."""
    return client.post(f"wxa/sec/order/{api}", data=body, api_base_url=COMPAT)


def check(cond: bool, msg: str, rec: Recorder | None = None) -> None:
    if not cond:
        raise AssertionError(msg + (f"\n    requests:{rec.brief()}" if rec else ""))


def wechat_shaped(entries: list[dict[str, Any]], rec: Recorder) -> None:
    """Every answer: HTTP 200, JSON, a JSON object (what WeChat sends and wechatpy expects)."""
    for e in entries:
        check(
            e["status"] == 200 and "json" in e["content_type"] and isinstance(e["body"], dict),
            f"{e['method']} {e['path']}: not WeChat-shaped (HTTP 200 + JSON object)",
            rec,
        )


def upload_body(order: dict[str, str], **changes: Any) -> dict[str, Any]:
    """crates/tpgate/src/sandbox.rs::demo_upload_body, with `changes` applied (None removes a key)."""
    body: dict[str, Any] = {
        "order_key": {"order_number_type": 2, "transaction_id": order["transaction_id"]},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [
            {
                "tracking_no": "SF1234567890",
                "express_company": "SF",
                "item_desc": "Demo item *1",
                "contact": {"receiver_contact": "189****1234"},
            }
        ],
        "upload_time": datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds"),
        "payer": {"openid": order["payer_openid"]},
    }
    for k, v in changes.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def expect_error(
    call: Callable[[], Any], rec: Recorder, what: str, exc: type[WeChatClientException] = WeChatClientException
) -> WeChatClientException:
    try:
        result = call()
    except exc as e:
        check(isinstance(e.errcode, int), f"{what}: wechatpy raised {e!r} without an errcode", rec)
        return e
    raise AssertionError(f"{what}: expected wechatpy's {exc.__name__}, got {result!r}\n    requests:{rec.brief()}")


# --- admin and simulator helpers (plain HTTP: they only set the scene) --------
ADMIN = requests.Session()
ADMIN.headers["Authorization"] = f"Bearer {SANDBOX['admin_token']}"


def admin(method: str, path: str, body: Any = None, status: int = 200) -> Any:
    r = ADMIN.request(method, BASE + path.lstrip("/"), json=body, timeout=30)
    check(
        r.status_code == status,
        f"admin {method} /{path.lstrip('/')}: expected HTTP {status}, got {r.status_code}: {r.text[:400]}",
    )
    return r.json() if r.content else None


def onboard(tenant_id: str, func_ids: list[int] | None = None) -> str:
    """A fresh Mini Program authorized for `tenant_id` through the simulated WeChat (optionally
    with only `func_ids`); returns its appid."""
    appid = "wx" + secrets.token_hex(8)
    if func_ids is not None:
        r = requests.post(SIM + "sim/next-authorization", json={"appid": appid, "func_ids": func_ids}, timeout=30)
        check(r.status_code == 204, f"sim/next-authorization: HTTP {r.status_code} {r.text[:200]}")
    link = admin(
        "POST",
        f"admin/v1/tenants/{tenant_id}/onboarding-links",
        {"biz_appid": appid, "single_use": True, "expires_in_secs": 600},
        status=201,
    )
    page = requests.post(
        link["url"] + "/authorize", data={"page": "pc"}, headers={"Referer": BASE}, allow_redirects=True, timeout=30
    )
    check(page.status_code == 200, f"onboarding {appid}: following the link ended in HTTP {page.status_code}")
    got = admin("GET", f"admin/v1/authorizers/{appid}")
    check(got.get("status") == "active", f"onboarding {appid}: authorizer is {got.get('status')!r}")
    return appid


def new_key(name: str) -> dict[str, Any]:
    return admin(
        "POST",
        f"admin/v1/tenants/{SANDBOX['tenant_id']}/api-keys",
        {"name": name, "scopes": ["proxy_read", "proxy_write"]},
        status=201,
    )


# --- cases -------------------------------------------------------------------
S: dict[str, Any] = {}  # state shared by the cases, in order


def case_token() -> str:
    client, rec = client_for(APPID, DEMO_KEY)
    token = client.access_token  # wechatpy's own flow: no token yet -> fetch_access_token
    check(len(rec.log) == 1, "expected exactly one request for the token", rec)
    e = rec.log[0]
    check(
        e["method"] == "GET" and urlsplit(COMPAT + "cgi-bin/token").path == e["path"],
        "wechatpy did not call GET <compat>/cgi-bin/token",
        rec,
    )
    check(
        e["query"] == {"grant_type": ["client_credential"], "appid": [APPID], "secret": [DEMO_KEY]},
        f"unexpected token query {e['query']}",
        rec,
    )
    wechat_shaped(rec.log, rec)
    check(
        set(e["body"]) == {"access_token", "expires_in"} and e["body"]["expires_in"] == 7200,
        "token answer is not {access_token, expires_in: 7200}",
        rec,
    )
    check(isinstance(token, str) and token and token == e["body"]["access_token"], "wechatpy kept another token", rec)
    check(token != DEMO_KEY, "the access token is the API key itself", rec)
    check(
        client.expires_at and 7100 < client.expires_at - time.time() <= 7200,
        "wechatpy's expires_at is not ~2 h away",
        rec,
    )
    check(
        client.access_token == token and len(rec.log) == 1,
        "wechatpy fetched the token again instead of using its cache",
        rec,
    )
    S.update(client=client, rec=rec, token=token)
    return f"GET /cgi-bin/token -> access_token ({len(token)} chars), expires_in 7200; cached by wechatpy"


def case_get_order() -> str:
    client, rec = S["client"], S["rec"]
    m = rec.mark()
    result = wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]})
    new = rec.since(m)
    check(
        len(new) == 1
        and new[0]["method"] == "POST"
        and new[0]["path"].endswith("/wxa/sec/order/get_order")
        and new[0]["query"].get("access_token") == [S["token"]],
        "expected one POST <compat>/wxa/sec/order/get_order?access_token=<token>",
        rec,
    )
    wechat_shaped(new, rec)
    order = result.get("order") or {}
    check(
        result.get("errcode") == 0 and order.get("transaction_id") == ORDER["transaction_id"],
        "get_order: errcode 0 with the order",
        rec,
    )
    check(
        order.get("openid") == ORDER["payer_openid"] and order.get("order_state") in (1, 2),
        f"get_order: expected payer {ORDER['payer_openid']} and order_state 1 (paid; 2 if shipped by an earlier run), got {order}",
        rec,
    )
    S["order_state"] = order["order_state"]
    return f"errcode 0, order {order['transaction_id']} state {order['order_state']}, paid_amount {order.get('paid_amount')}"


def case_documented_adapter() -> str:
    """docs/migrating-sdk-code.md's wechatpy snippet, as written there: a plain WeChatClient whose
    requests to api.weixin.qq.com a transport adapter sends to tpgate (token fetch included)."""
    from requests.adapters import HTTPAdapter

    wechat, tpgate = "https://api.weixin.qq.com", COMPAT.rstrip("/")

    class ToTpgate(HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[override]
            request.url = tpgate + request.url[len(wechat):]
            return super().send(request, **kwargs)

    client = WeChatClient(APPID, DEMO_KEY, timeout=20)
    client._http.mount(wechat + "/", ToTpgate())
    rec = Recorder(client)
    result = client.post(f"{wechat}/wxa/sec/order/get_order", data={"transaction_id": ORDER["transaction_id"]})
    paths = [e["path"] for e in rec.log]
    check(paths == ["/cgi-bin/token", "/wxa/sec/order/get_order"], f"token then get_order at tpgate, got {paths}", rec)
    wechat_shaped(rec.log, rec)
    check(result.get("errcode") == 0, "get_order through the documented adapter: errcode 0", rec)
    return "token and get_order reached tpgate through the adapter"


def case_upload() -> str:
    client, rec = S["client"], S["rec"]
    order, note = ORDER, "demo order"
    if S.get("order_state") != 1:  # shipped by an earlier run on this sandbox: a fresh paid order
        r = requests.post(SIM + "sim/orders", json={"appid": APPID}, timeout=30)
        check(r.status_code == 200, f"sim/orders: HTTP {r.status_code} {r.text[:200]}")
        order = {"transaction_id": r.json()["transaction_id"], "payer_openid": r.json()["openid"]}
        note = "new simulator order"
    m = rec.mark()
    result = wxa(client, "upload_shipping_info", upload_body(order))
    check(result == {"errcode": 0, "errmsg": "ok"}, f"upload_shipping_info: {result}", rec)
    after = wxa(client, "get_order", {"transaction_id": order["transaction_id"]})
    wechat_shaped(rec.since(m), rec)
    shipped = after.get("order") or {}
    check(
        shipped.get("order_state") == 2 and "SF1234567890" in json.dumps(shipped.get("shipping")),
        f"get_order after the upload: expected state 2 with tracking SF1234567890, got {shipped}",
        rec,
    )
    return f"{note} {order['transaction_id']}: upload -> {result}; get_order -> state 2 with the tracking number"


def seed_case(api: str, body: dict[str, Any], errcode: int) -> str:
    client, rec = S["client"], S["rec"]
    m = rec.mark()
    e = expect_error(lambda: wxa(client, api, body), rec, api)
    new = rec.since(m)
    check(e.errcode == errcode, f"{api}: expected the seed's errcode {errcode}, got {e.errcode} ({e.errmsg})", rec)
    check(isinstance(e.errmsg, str) and len(e.errmsg) > 3, f"{api}: errmsg should explain, got {e.errmsg!r}", rec)
    check(len(new) == 1, f"{api}: wechatpy should not retry a seed errcode", rec)
    wechat_shaped(new, rec)
    return f"WeChatClientException({e.errcode}, {e.errmsg!r})"


def case_seed_two_parcels() -> str:
    parcel = {"tracking_no": "YT1", "express_company": "YTO", "item_desc": "Demo item *1"}
    body = upload_body(ORDER, shipping_list=[parcel, dict(parcel, tracking_no="YT2")])  # delivery_mode 1
    return seed_case("upload_shipping_info", body, UNIFIED_NEEDS_ONE_ENTRY)


def case_seed_missing_transaction_id() -> str:
    return seed_case(
        "upload_shipping_info", upload_body(ORDER, order_key={"order_number_type": 2}), MISSING_TRANSACTION_ID
    )


def case_seed_get_order_without_id() -> str:
    return seed_case("get_order", {}, GET_ORDER_NEEDS_ID)


def case_wechat_error_passed_through() -> str:
    client, rec = S["client"], S["rec"]
    m = rec.mark()
    unknown = "4200000000" + "".join(secrets.choice("0123456789") for _ in range(18))
    e = expect_error(lambda: wxa(client, "get_order", {"transaction_id": unknown}), rec, "get_order (unknown order)")
    check(
        e.errcode == ORDER_NOT_FOUND,
        f"expected WeChat's {ORDER_NOT_FOUND} unchanged, got {e.errcode} ({e.errmsg})",
        rec,
    )
    check(len(rec.since(m)) == 1, "one request expected", rec)
    wechat_shaped(rec.since(m), rec)
    return f"WeChatClientException({e.errcode}, {e.errmsg!r})"


def case_stale_token_refreshed() -> str:
    """A token tpgate does not know: 40001, wechatpy fetches a new one and retries once, which works."""
    client, rec = S["client"], S["rec"]
    client.session.set(client.access_token_key, "not-a-tpgate-token", 7200)
    m = rec.mark()
    result = wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]})
    new = rec.since(m)
    steps = [(e["method"], e["path"].rsplit("/", 1)[-1], e["errcode"]) for e in new]
    check(
        [s[:2] for s in steps] == [("POST", "get_order"), ("GET", "token"), ("POST", "get_order")],
        f"expected call, token, call; got {steps}",
        rec,
    )
    check(new[0]["errcode"] == 40001, f"an unknown token should get 40001, got {new[0]['body']}", rec)
    check(result.get("errcode") == 0, f"the retried call: {result}", rec)
    wechat_shaped(new, rec)
    S["token"] = client.session.get(client.access_token_key)
    return "get_order -> 40001, GET /cgi-bin/token, get_order -> errcode 0"


def case_token_errors() -> str:
    out = []
    # Another tenant's Mini Program: the demo key must not get a token for it.
    other_tenant = admin("POST", "admin/v1/tenants", {"name": f"sdk-wechatpy-{secrets.token_hex(4)}"}, status=201)
    foreign = onboard(other_tenant["id"])
    for appid, secret, want, what in [
        ("wx" + secrets.token_hex(8), DEMO_KEY, 40013, "unknown appid"),
        (foreign, DEMO_KEY, 40013, "another tenant's appid"),
        (APPID, "tpk_" + secrets.token_hex(32), 40125, "unknown key"),
        (APPID, "not-a-key", 40125, "malformed secret"),
        ("", DEMO_KEY, 41002, "empty appid"),  # e.g. an unset environment variable
        (APPID, "", 41004, "empty secret"),
    ]:
        client, rec = client_for(appid, secret)
        e = expect_error(lambda c=client: c.access_token, rec, what)
        check(e.errcode == want, f"{what}: expected {want}, got {e.errcode} ({e.errmsg})", rec)
        check(len(rec.log) == 1, f"{what}: one request expected", rec)
        wechat_shaped(rec.log, rec)
        out.append(f"{what} -> {e.errcode}")
    return ", ".join(out)


def case_missing_permission_set() -> str:
    appid = onboard(SANDBOX["tenant_id"], func_ids=[45])  # neither 142 nor 18: no shipping APIs
    client, rec = client_for(appid, DEMO_KEY)
    e = expect_error(
        lambda: wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]}), rec, "get_order without set 142"
    )
    check(e.errcode == MISSING_PERMISSION_SET, f"expected {MISSING_PERMISSION_SET}, got {e.errcode} ({e.errmsg})", rec)
    check([x["path"].rsplit("/", 1)[-1] for x in rec.log] == ["token", "get_order"], "expected token, get_order", rec)
    wechat_shaped(rec.log, rec)
    return f"{appid} with set 45 only: WeChatClientException({e.errcode}, {e.errmsg!r})"


def case_rate_limited() -> str:
    appid = onboard(SANDBOX["tenant_id"])
    admin(
        "PUT",
        "admin/v1/rate-limit-policies",
        {"api_group": "shipping", "dimension": "appid", "window": "day", "scope": f"appid:{appid}", "max_calls": 0},
    )
    client, rec = client_for(appid, DEMO_KEY)
    e = expect_error(
        lambda: wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]}),
        rec,
        "get_order over tpgate's limit",
        exc=APILimitedException,
    )
    check(e.errcode == 45009, f"expected 45009, got {e.errcode}", rec)
    check(
        [x["path"].rsplit("/", 1)[-1] for x in rec.log] == ["token", "get_order"],
        "expected token, get_order (no retry)",
        rec,
    )
    wechat_shaped(rec.log, rec)
    # The logistics-query plugin's quota answers 9300513, which wechatpy does not know as a limit.
    admin(
        "PUT",
        "admin/v1/rate-limit-policies",
        {
            "api_group": "logistics_plugin",
            "dimension": "appid",
            "window": "day",
            "scope": f"appid:{appid}",
            "max_calls": 0,
        },
    )
    m = rec.mark()
    trace = {
        "openid": ORDER["payer_openid"],
        "receiver_phone": "189****1234",
        "waybill_id": "SF1234567890",
        "trans_id": ORDER["transaction_id"],
        "goods_info": {"detail_list": [{"goods_name": "Demo item", "goods_img_url": "https://example.com/a.png"}]},
    }
    # A relative endpoint: wechatpy puts it under API_BASE_URL (<compat>/cgi-bin/).
    plugin = expect_error(
        lambda: client.post("express/delivery/open_msg/trace_waybill", data=trace), rec, "trace_waybill over the limit"
    )
    check(plugin.errcode == 9300513, f"expected 9300513, got {plugin.errcode} ({plugin.errmsg})", rec)
    new = rec.since(m)
    check(
        len(new) == 1 and new[0]["path"].endswith("/cgi-bin/express/delivery/open_msg/trace_waybill"),
        "expected one POST <compat>/cgi-bin/express/delivery/open_msg/trace_waybill",
        rec,
    )
    wechat_shaped(new, rec)
    return (
        f"limits 0/day on {appid}: get_order -> wechatpy's APILimitedException({e.errcode}, {e.errmsg!r}); "
        f"trace_waybill -> WeChatClientException({plugin.errcode})"
    )


def case_authorization_ended() -> str:
    """The merchant ends the authorization: the token gets 40001, wechatpy's refresh gets 40013, no loop."""
    appid = onboard(SANDBOX["tenant_id"])
    client, rec = client_for(appid, DEMO_KEY)
    r = requests.post(SIM + "sim/orders", json={"appid": appid}, timeout=30)
    check(r.status_code == 200, f"sim/orders: HTTP {r.status_code} {r.text[:200]}")
    transaction_id = r.json()["transaction_id"]
    ok = wxa(client, "get_order", {"transaction_id": transaction_id})
    check(ok.get("errcode") == 0, f"get_order before: {ok}", rec)
    r = requests.post(SIM + "sim/push/unauthorized", json={"authorizer_appid": appid}, timeout=30)
    check(r.status_code == 200, f"sim/push/unauthorized: HTTP {r.status_code} {r.text[:200]}")
    got = admin("GET", f"admin/v1/authorizers/{appid}")
    check(got.get("status") != "active", f"tpgate still has {appid} {got.get('status')!r} after the unauthorized push")
    m = rec.mark()
    e = expect_error(
        lambda: wxa(client, "get_order", {"transaction_id": transaction_id}), rec, "call after the authorization ended"
    )
    new = rec.since(m)
    steps = [(x["method"], x["path"].rsplit("/", 1)[-1], x["errcode"]) for x in new]
    check(
        [s[:2] for s in steps] == [("POST", "get_order"), ("GET", "token")],
        f"expected the call then one token fetch, got {steps}",
        rec,
    )
    check(new[0]["errcode"] == 40001 and e.errcode == 40013, f"expected 40001 then 40013, got {steps}", rec)
    wechat_shaped(new, rec)
    return f"{appid} unauthorized: get_order -> 40001, GET /cgi-bin/token -> 40013 (WeChatClientException), 2 requests"


def case_revoked_key() -> str:
    created = new_key(f"sdk-wechatpy-{secrets.token_hex(4)}")
    client, rec = client_for(APPID, created["key"])
    ok = wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]})
    check(ok.get("errcode") == 0, f"the new key's first call: {ok}", rec)
    admin("POST", f"admin/v1/tenants/{SANDBOX['tenant_id']}/api-keys/{created['id']}/revoke")
    m = rec.mark()
    t0 = time.monotonic()
    e = expect_error(
        lambda: wxa(client, "get_order", {"transaction_id": ORDER["transaction_id"]}), rec, "call after revoking"
    )
    took = time.monotonic() - t0
    new = rec.since(m)
    steps = [(x["method"], x["path"].rsplit("/", 1)[-1], x["errcode"]) for x in new]
    check(
        len(new) == 2 and steps[0][:2] == ("POST", "get_order") and steps[1][:2] == ("GET", "token"),
        f"expected the call then one token fetch, got {steps}",
        rec,
    )
    check(new[0]["errcode"] == 40001, f"a revoked key's token should get 40001, got {new[0]['body']}", rec)
    check(
        e.errcode in (40125, 40001) and e.errcode == new[1]["errcode"],
        f"wechatpy's refresh should fail with 40125 or 40001, got {e.errcode} ({e.errmsg})",
        rec,
    )
    wechat_shaped(new, rec)
    # The sandbox's own key is untouched.
    still = wxa(S["client"], "get_order", {"transaction_id": ORDER["transaction_id"]})
    check(still.get("errcode") == 0, f"the demo key after revoking another key: {still}", S["rec"])
    return f"get_order -> 40001, GET /cgi-bin/token -> {e.errcode}: WeChatClientException in {took:.2f}s after 2 requests; demo key still works"


CASES: list[tuple[str, Callable[[], str]]] = [
    ("token through wechatpy (GET /cgi-bin/token)", case_token),
    ("get_order", case_get_order),
    ("the documented snippet: a transport adapter", case_documented_adapter),
    ("upload_shipping_info, then get_order", case_upload),
    ("seed rule: unified delivery with two parcels", case_seed_two_parcels),
    ("seed rule: order_key without transaction_id", case_seed_missing_transaction_id),
    ("seed rule: get_order without an order id", case_seed_get_order_without_id),
    ("WeChat's own errcode passed through", case_wechat_error_passed_through),
    ("unknown token: wechatpy refreshes and retries", case_stale_token_refreshed),
    ("token errors: 40013, 40125, 41002, 41004", case_token_errors),
    (f"missing permission set: {MISSING_PERMISSION_SET}", case_missing_permission_set),
    ("tpgate rate limits: 45009, 9300513 (logistics plugin)", case_rate_limited),
    ("authorization ended: 40001, refresh gets 40013", case_authorization_ended),
    ("revoked key: 40001, refresh fails cleanly", case_revoked_key),
]


def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError(f"case still running after {CASE_TIMEOUT}s (a hang or a retry loop)")


def main() -> int:
    import wechatpy

    print(f"wechatpy {wechatpy.__version__} against {COMPAT} (admin API {BASE}, appid {APPID})", flush=True)
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = 0
    for name, case in CASES:
        t0 = time.monotonic()
        signal.alarm(CASE_TIMEOUT)
        try:
            detail = case()
            signal.alarm(0)
            passed += 1
            print(f"  ok    {name} ({time.monotonic() - t0:.2f}s): {detail}", flush=True)
        except Exception as e:  # noqa: BLE001  (report and go on)
            signal.alarm(0)
            failed += 1
            where = "" if isinstance(e, AssertionError) else "\n" + "".join(traceback.format_exception(e)[-3:])
            print(f"  FAIL  {name} ({time.monotonic() - t0:.2f}s): {type(e).__name__}: {e}{where}", flush=True)
    print(f"wechatpy: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
