//! The onboarding flow of `flow.rs` again, but every call the spec documents
//! goes through `tpgate-client` (generated from `openapi/tpgate.json` at
//! build time): if the committed spec and the server disagree on a path, a
//! body or a status, this test is where a client user would notice.
use tpgate_client::{Client, Error, types};
use url::Url;
use wechat_sim::{NewOrder, SimOrder};

use crate::helpers::TestApp;

const UPLOAD: &str = "/wxa/sec/order/upload_shipping_info";

/// A valid `upload_shipping_info` body, typed (the same shipment as
/// `helpers::upload_body`).
fn shipment(order: &SimOrder, tracking_no: &str) -> types::UploadShippingInfoRequest {
    types::UploadShippingInfoRequest {
        order_key: types::OrderKey {
            order_number_type: 2,
            transaction_id: Some(order.transaction_id.clone()),
            mchid: None,
            out_trade_no: None,
        },
        logistics_type: 1,
        delivery_mode: 1,
        is_all_delivered: None,
        shipping_list: vec![types::ShippingItem {
            tracking_no: Some(tracking_no.to_owned()),
            express_company: Some("STO".to_owned()),
            item_desc: Some("微信气泡狗集线器*1".to_owned()),
            contact: Some(types::Contact {
                consignor_contact: Some("+86-177****1234".to_owned()),
                receiver_contact: None,
            }),
        }],
        upload_time: Some("2022-12-15T13:29:35.120+08:00".to_owned()),
        payer: types::Payer {
            openid: order.openid.clone(),
        },
    }
}

#[tokio::test]
async fn generated_client_drives_tenant_to_shipment() {
    let app = TestApp::spawn().await;
    // WeChat's ticket push is not part of tpgate's API: the simulator does it.
    app.push_ticket().await;
    let admin = Client::with_bearer(app.base.as_str(), &app.admin_token).unwrap();

    let tenant = admin
        .create_tenant()
        .body(types::NewTenant::builder().name("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(tenant.status().as_u16(), 201);
    let tenant = tenant.into_inner();
    assert_eq!(tenant.name, "acme");
    assert_eq!(tenant.status, types::TenantStatus::Active);

    let key = admin
        .create_api_key()
        .tenant_id(&tenant.id)
        .body(types::NewApiKey::builder().name("generated-client"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(key.tenant_id, tenant.id);
    assert!(key.key.starts_with(&key.prefix), "{key:?}");

    let link = admin
        .create_onboarding_link()
        .tenant_id(&tenant.id)
        .body(types::NewOnboardingLink::builder())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(link.tenant_id, tenant.id);

    // The merchant's browser: tpgate → WeChat's authorization page → back.
    // Redirects and HTML, outside the API and so outside the spec.
    let (status, html) = app.follow_onboarding(&Url::parse(&link.url).unwrap()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("142"), "{html}");

    let authorizers = admin
        .list_authorizers()
        .tenant_id(&tenant.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let appid = app.sim_config.default_authorizer_appid.clone();
    let [authorizer] = authorizers.items.as_slice() else {
        panic!("one authorizer expected: {authorizers:?}");
    };
    assert_eq!(authorizer.appid, appid);
    assert_eq!(authorizer.tenant_id.as_deref(), Some(tenant.id.as_str()));
    assert_eq!(authorizer.permission_sets, [18, 45, 142]);
    assert_eq!(authorizer.status, types::AuthorizerStatus::Active);

    // The tenant's side: its API key as the bearer.
    let merchant = Client::with_bearer(app.base.as_str(), &key.key).unwrap();
    let order = app.sim.create_paid_order(NewOrder::default());
    let upload = || {
        merchant
            .upload_shipping_info()
            .appid(&appid)
            .idempotency_key("generated-client-1")
            .body(shipment(&order, "SF001"))
            .send()
    };
    let shipped = upload().await.unwrap();
    assert_eq!(shipped.status().as_u16(), 200);
    assert!(!shipped.headers().contains_key("idempotent-replayed"));
    let ack = shipped.into_inner();
    assert_eq!((ack.errcode, ack.errmsg.as_str()), (0, "ok"));
    // The same Idempotency-Key again: the stored answer, WeChat not called.
    let replayed = upload().await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.into_inner().errcode, 0);
    assert_eq!(app.sim.call_count(UPLOAD), 1);

    let got = merchant
        .get_order()
        .appid(&appid)
        .body(types::GetOrderRequest::builder().transaction_id(Some(order.transaction_id.clone())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.errcode, 0);
    let shipped_order = got.order.expect("get_order answers the order");
    assert_eq!(shipped_order.transaction_id, order.transaction_id);
    assert_eq!(shipped_order.order_state, 2, "shipped");
    let shipping = shipped_order.shipping.expect("the shipment is recorded");
    assert_eq!(shipping.finish_shipping_count, 1);
    assert_eq!(shipping.shipping_list[0].tracking_no, "SF001");

    // A body the seed rules refuse is a 400 problem+json, typed as
    // `Problem` and naming the field, and WeChat is never called.
    let mut late = shipment(&order, "SF002");
    late.upload_time = Some("yesterday".to_owned());
    let refused = merchant
        .upload_shipping_info()
        .appid(&appid)
        .body(late)
        .send()
        .await
        .expect_err("the seed rules refuse a non-RFC 3339 upload_time");
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400), "{refused}");
    let Error::ErrorResponse(problem) = refused else {
        panic!("a documented error response expected: {refused}");
    };
    assert_eq!(problem.status, 400);
    assert_eq!(problem.field.as_deref(), Some("upload_time"), "{problem:?}");
    assert_eq!(problem.prevents_errcode, Some(268485216), "{problem:?}");
    assert_eq!(
        app.sim.call_count(UPLOAD),
        1,
        "only the valid upload reached WeChat"
    );

    app.shutdown().await;
}
