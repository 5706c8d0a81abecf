"""Smoke test of the Python client generated from openapi/tpgate.json.

Usage: python smoke.py GENERATED_PARENT_DIR SANDBOX_JSON

GENERATED_PARENT_DIR holds the package `tpgate_client` written by
`openapi-python-client generate --meta none --output-path DIR/tpgate_client`;
SANDBOX_JSON is the summary `tpgate sandbox --out` wrote. The sandbox's own
onboarding link must have been followed (run.sh does it), so that its API key
may call its Mini Program.

Operations are looked up by operationId, not by tag, so renaming a tag does not
break this script; a renamed or removed operationId or model does, on purpose.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import secrets
import sys
import time
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

sys.path.insert(0, sys.argv[1])
SANDBOX: dict[str, Any] = json.load(open(sys.argv[2]))

import httpx  # noqa: E402  (the generated client's own dependency)
import tpgate_client  # noqa: E402
import tpgate_client.api  # noqa: E402
from tpgate_client import AuthenticatedClient  # noqa: E402
from tpgate_client.models import (  # noqa: E402
    CreatedApiKey,
    CreatedOnboardingLink,
    GetOrderListRequest,
    GetOrderListResponse,
    GetOrderRequest,
    GetOrderResponse,
    NewApiKey,
    NewOnboardingLink,
    NewTenant,
    Problem,
    Tenant,
    UploadShippingInfoRequest,
    WechatAck,
)

BASE = SANDBOX["base_url"].rstrip("/")
APPID = SANDBOX["authorizer_appid"]
STEPS: list[str] = []


def step(msg: str) -> None:
    STEPS.append(msg)
    print(f"  ok  {msg}", flush=True)


def check(cond: bool, msg: str, resp: Any = None) -> None:
    if not cond:
        extra = ""
        if resp is not None and hasattr(resp, "status_code"):
            extra = f"\n      HTTP {int(resp.status_code)} {resp.headers.get('content-type')}: {resp.content[:600]!r}"
        raise AssertionError(msg + extra)


def _operations() -> dict[str, ModuleType]:
    ops: dict[str, ModuleType] = {}
    for info in pkgutil.walk_packages(tpgate_client.api.__path__, "tpgate_client.api."):
        if not info.ispkg:
            ops[info.name.rsplit(".", 1)[1]] = importlib.import_module(info.name)
    return ops


OPS = _operations()


def op(operation_id: str) -> ModuleType:
    check(operation_id in OPS, f"generated client has no operation {operation_id!r} (has: {sorted(OPS)})")
    return OPS[operation_id]


def items(resp: Any, what: str) -> list[Any]:
    """The `items` of a list answer, whatever its model is called (a list or a page)."""
    check(int(resp.status_code) == 200 and isinstance(getattr(resp.parsed, "items", None), list),
          f"{what}: expected 200 with a typed `items` list, got {type(resp.parsed).__name__}", resp)
    return resp.parsed.items


def is_problem(resp: Any, status: int) -> Problem:
    check(int(resp.status_code) == status, f"expected HTTP {status}", resp)
    check(
        resp.headers.get("content-type", "").startswith("application/problem+json"),
        "error is not application/problem+json",
        resp,
    )
    check(isinstance(resp.parsed, Problem), "error body did not parse as Problem", resp)
    problem: Problem = resp.parsed
    check(problem.status == status, f"problem.status {problem.status} != {status}", resp)
    return problem


def main() -> None:
    started = time.monotonic()
    admin = AuthenticatedClient(base_url=BASE, token=SANDBOX["admin_token"], raise_on_unexpected_status=True)
    demo_key = AuthenticatedClient(base_url=BASE, token=SANDBOX["api_key"], raise_on_unexpected_status=True)
    print(f"python smoke against {BASE} ({len(OPS)} operations in the generated client)")

    # --- admin: tenant, API key, onboarding link, authorizers -----------------
    name = f"smoke-py-{secrets.token_hex(4)}"
    r = op("create_tenant").sync_detailed(client=admin, body=NewTenant(name=name))
    check(int(r.status_code) == 201 and isinstance(r.parsed, Tenant), "create_tenant: expected 201 Tenant", r)
    tenant: Tenant = r.parsed
    check(tenant.name == name and tenant.status == "active", f"create_tenant: unexpected {tenant}")
    step(f"create_tenant -> 201 Tenant id={tenant.id}")

    r = op("create_tenant").sync_detailed(client=admin, body=NewTenant(name=name))
    problem = is_problem(r, 409)
    step(f"create_tenant again (same name) -> 409 problem {problem.type_}")

    r = op("list_tenants").sync_detailed(client=admin)
    listed = items(r, "list_tenants")
    check(any(isinstance(t, Tenant) and t.id == tenant.id for t in listed), "list_tenants: new tenant missing", r)
    step(f"list_tenants -> {type(r.parsed).__name__} of {len(listed)}, new one listed")

    r = op("create_api_key").sync_detailed(tenant.id, client=admin, body=NewApiKey(name="smoke"))
    check(int(r.status_code) == 201 and isinstance(r.parsed, CreatedApiKey), "create_api_key: expected 201", r)
    created: CreatedApiKey = r.parsed
    key = created.key
    check(key.startswith("tpk_") and key.startswith(created.prefix) and len(key) > len(created.prefix) + 16,
          f"create_api_key: odd key/prefix {created.prefix!r}", r)
    check(created.tenant_id == tenant.id, "create_api_key: wrong tenant_id", r)
    step(f"create_api_key -> 201, key shown once (prefix {created.prefix})")

    # The key must never be shown again: not by a key listing (if the spec has one), nor elsewhere.
    shown_again = []
    for listing in [o for o in OPS if o.startswith("list_") and "key" in o]:
        lr = op(listing).sync_detailed(tenant.id, client=admin)
        check(int(lr.status_code) == 200, f"{listing}: expected 200", lr)
        check(key not in lr.content.decode(), f"{listing} shows the full API key", lr)
        check(created.prefix in lr.content.decode(), f"{listing} does not list the new key's prefix", lr)
        shown_again.append(listing)
    for other in (op("list_tenants").sync_detailed(client=admin),
                  op("list_authorizers").sync_detailed(client=admin, tenant_id=tenant.id)):
        check(key not in other.content.decode(), "an admin listing shows the full API key", other)
    step("the key is not shown again (" + (", ".join(shown_again) or "no key listing in the spec") +
         "; list_tenants, list_authorizers)")

    # A link pinned to a fresh appid, so the sandbox's own Mini Program stays with the demo tenant.
    own_appid = "wx" + secrets.token_hex(8)
    r = op("create_onboarding_link").sync_detailed(
        tenant.id, client=admin,
        body=NewOnboardingLink(auth_type=2, biz_appid=own_appid, expires_in_secs=600, single_use=True))
    check(int(r.status_code) == 201 and isinstance(r.parsed, CreatedOnboardingLink), "create_onboarding_link", r)
    link: CreatedOnboardingLink = r.parsed
    check(link.url.startswith(BASE + "/onboard/") and link.single_use and link.tenant_id == tenant.id,
          f"create_onboarding_link: unexpected {link}", r)
    step(f"create_onboarding_link -> 201 (biz_appid {own_appid})")

    r = op("list_authorizers").sync_detailed(client=admin, tenant_id=tenant.id)
    check(items(r, "list_authorizers") == [], "list_authorizers before onboarding: expected none", r)
    landing = httpx.get(link.url, timeout=30)
    check(landing.status_code == 200, f"the onboarding link's landing page answered HTTP {landing.status_code}")
    # Its button, with the Referer a browser sends (the page's policy: origin).
    page = httpx.post(link.url + "/authorize", data={"page": "pc"}, headers={"Referer": BASE + "/"},
                      follow_redirects=True, timeout=30)
    check(page.status_code == 200, f"following the onboarding link ended in HTTP {page.status_code}")
    r = op("list_authorizers").sync_detailed(client=admin, tenant_id=tenant.id)
    mine = [a for a in items(r, "list_authorizers") if a.appid == own_appid]
    check(len(mine) == 1 and mine[0].status == "active" and 142 in mine[0].permission_sets,
          f"list_authorizers: {own_appid} not active with set 142", r)
    step(f"onboarding link followed; list_authorizers -> {own_appid} active, sets {mine[0].permission_sets}")

    r = op("list_authorizers").sync_detailed(client=admin)
    check(any(a.appid == APPID for a in items(r, "list_authorizers")),
          f"list_authorizers: the sandbox's {APPID} is missing (was its onboarding link followed?)", r)
    step(f"list_authorizers (all) -> {len(r.parsed.items)} authorizers, incl. the sandbox's {APPID}")

    # --- proxy: typed calls with API keys --------------------------------------
    order0 = SANDBOX["demo_orders"][0]
    r = op("get_order").sync_detailed(APPID, client=demo_key,
                                      body=GetOrderRequest(transaction_id=order0["transaction_id"]))
    check(int(r.status_code) == 200 and isinstance(r.parsed, GetOrderResponse), "get_order: expected 200", r)
    got: GetOrderResponse = r.parsed
    check(got.errcode == 0 and got.order is not None, "get_order: errcode/order", r)
    order = got.order
    check(order.transaction_id == order0["transaction_id"] and order.openid == order0["payer_openid"],
          "get_order: wrong order", r)
    check(isinstance(order.paid_amount, int) and order.paid_amount > 0 and order.order_state in (1, 2, 3, 4, 5, 6),
          "get_order: paid_amount/order_state", r)
    check(isinstance(order.in_complaint, bool) and isinstance(order.pay_time, int), "get_order: field types", r)
    step(f"get_order (demo key) -> 200 GetOrderResponse, order_state {order.order_state}, paid {order.paid_amount}")

    # A write through the typed client, repeated with the same Idempotency-Key.
    order1 = SANDBOX["demo_orders"][1]
    upload_time = datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds")
    body = UploadShippingInfoRequest.from_dict({
        "order_key": {"order_number_type": 2, "transaction_id": order1["transaction_id"]},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "SFPY0001", "express_company": "SF", "item_desc": "smoke item *1",
                           "contact": {"receiver_contact": "189****1234"}}],
        "upload_time": upload_time,
        "payer": {"openid": order1["payer_openid"]},
    })
    idem = f"smoke-py-{secrets.token_hex(8)}"
    first = op("upload_shipping_info").sync_detailed(APPID, client=demo_key, body=body, idempotency_key=idem)
    check(int(first.status_code) == 200 and isinstance(first.parsed, WechatAck) and first.parsed.errcode == 0,
          "upload_shipping_info: expected 200 WechatAck errcode 0", first)
    again = op("upload_shipping_info").sync_detailed(APPID, client=demo_key, body=body, idempotency_key=idem)
    check(int(again.status_code) == 200 and again.headers.get("idempotent-replayed") == "true",
          "upload_shipping_info replay: expected Idempotent-Replayed: true", again)
    r = op("get_order").sync_detailed(APPID, client=demo_key,
                                      body=GetOrderRequest(transaction_id=order1["transaction_id"]))
    check(isinstance(r.parsed, GetOrderResponse) and r.parsed.order is not None, "get_order after upload", r)
    shipped = r.parsed.order
    tracking = [i.tracking_no for i in (shipped.shipping.shipping_list if shipped.shipping else [])]
    check(shipped.order_state == 2 and "SFPY0001" in tracking, f"order not shipped: {shipped.to_dict()}", r)
    step("upload_shipping_info -> 200, replay -> Idempotent-Replayed: true; get_order -> order_state 2")

    # The new tenant's key works on its own Mini Program only.
    own_key = AuthenticatedClient(base_url=BASE, token=key, raise_on_unexpected_status=True)
    r = op("get_order_list").sync_detailed(own_appid, client=own_key, body=GetOrderListRequest())
    check(int(r.status_code) == 200 and isinstance(r.parsed, GetOrderListResponse), "get_order_list (new key)", r)
    step(f"get_order_list (new key, {own_appid}) -> 200, {len(r.parsed.order_list or [])} orders")
    r = op("get_order").sync_detailed(APPID, client=own_key,
                                      body=GetOrderRequest(transaction_id=order0["transaction_id"]))
    is_problem(r, 404)
    step(f"get_order (new key on the demo tenant's {APPID}) -> 404 problem")

    # --- errors: problem+json with `field` --------------------------------------
    bad = UploadShippingInfoRequest.from_dict({**body.to_dict(), "shipping_list": body.to_dict()["shipping_list"] * 2})
    r = op("upload_shipping_info").sync_detailed(APPID, client=demo_key, body=bad)
    problem = is_problem(r, 400)
    check(problem.field == "shipping_list" and isinstance(problem.prevents_errcode, int),
          f"unified delivery with 2 parcels: expected field shipping_list + prevents_errcode, got {problem.to_dict()}", r)
    step(f"upload_shipping_info (2 parcels, unified) -> 400 field={problem.field} prevents_errcode={problem.prevents_errcode}")

    raw = demo_key.get_httpx_client().post(
        f"/v1/apps/{APPID}/wxa/sec/order/upload_shipping_info",
        json={"order_key": {"order_number_type": 2, "transaction_id": order0["transaction_id"]}},
    )
    problem = Problem.from_dict(raw.json())
    check(raw.status_code == 400 and raw.headers["content-type"].startswith("application/problem+json"),
          "body missing required fields: expected 400 problem+json", raw)
    check(problem.field == "logistics_type", f"body missing logistics_type: field={problem.field!r}", raw)
    step(f"upload_shipping_info (body without logistics_type) -> 400 field={problem.field}")

    r = op("get_order").sync_detailed(
        APPID, client=AuthenticatedClient(base_url=BASE, token="tpk_" + "0" * 64, raise_on_unexpected_status=True),
        body=GetOrderRequest(transaction_id=order0["transaction_id"]))
    is_problem(r, 401)
    step("get_order with an unknown API key -> 401 problem")

    print(f"python smoke: {len(STEPS)} checks passed in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"  FAIL {e}", flush=True)
        sys.exit(1)
    except Exception as e:  # e.g. the generated client cannot parse an answer that violates the spec
        import traceback

        traceback.print_exc(file=sys.stdout)
        after = STEPS[-1] if STEPS else "the start"
        print(f"  FAIL the generated client raised {type(e).__name__}: {e} (after: {after})", flush=True)
        sys.exit(1)
