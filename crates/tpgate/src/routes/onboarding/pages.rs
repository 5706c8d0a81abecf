//! The onboarding pages' HTML, in Simplified Chinese and English (WeChat's
//! own terms: 授权, 权限集, 小程序). Every page is self-contained (inline
//! style, no script, nothing from another host) and never echoes input
//! other than escaped, bounded names we stored ourselves.
use poem::{
    IntoResponse, Response,
    http::{HeaderValue, StatusCode},
    web::Html,
};
use ratelimit::Throttled;
use store::onboarding::LinkState;
use tenant_auth::{AuthError, AuthPage, LinkLanding, OnboardingResult, permissions};

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=` wins; else the first of `zh*` / `en*` in `Accept-Language`
    /// (weights are ignored: browsers list the preferred one first); else
    /// Chinese, the language of WeChat's own pages.
    pub fn choose(requested: Option<&str>, accept_language: Option<&str>) -> Self {
        match requested {
            Some("zh") => return Lang::Zh,
            Some("en") => return Lang::En,
            _ => {}
        }
        accept_language
            .unwrap_or_default()
            .split(',')
            .map(|l| l.trim().to_ascii_lowercase())
            .find_map(|l| {
                if l.starts_with("zh") {
                    Some(Lang::Zh)
                } else if l.starts_with("en") {
                    Some(Lang::En)
                } else {
                    None
                }
            })
            .unwrap_or(Lang::Zh)
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Longest tenant name shown (names are the operator's, still bounded).
const MAX_NAME_CHARS: usize = 80;

/// The landing page: who asks, which permission sets and why, the button.
pub fn landing(lang: Lang, token: &str, landing: &LinkLanding, page: AuthPage) -> Response {
    let name: String = landing.tenant_name.chars().take(MAX_NAME_CHARS).collect();
    let name = escape(&name);
    let t = |zh, en| lang.pick(zh, en);
    let mut body = String::new();
    body.push_str(&match lang {
        Lang::Zh => format!(
            "<p><strong>{name}</strong> 请你把小程序授权给它使用的第三方平台，以便代你调用微信的发货信息管理和物流接口。</p>"
        ),
        Lang::En => format!(
            "<p><strong>{name}</strong> asks you to authorize the third-party platform it uses, so it can call WeChat's shipping-information and logistics APIs for your Mini Program.</p>"
        ),
    });
    if let Some(appid) = &landing.biz_appid {
        body.push_str(&format!(
            "<p>{} <code>{}</code></p>",
            t("此链接仅用于小程序", "This link is for Mini Program"),
            escape(appid)
        ));
    }
    body.push_str(&format!(
        "<h2>{}</h2><ul>",
        t("需要勾选的权限集", "Permission sets to tick")
    ));
    for (id, why_zh, why_en) in [
        (
            permissions::SHIPPING_MANAGEMENT,
            "上传发货信息，微信据此为已支付订单结算（或勾选 18）",
            "upload shipping information, which WeChat needs before it settles paid orders (or tick 18)",
        ),
        (
            permissions::DEVELOPMENT,
            "可代替 142 用于发货信息管理",
            "also allows shipping information management, instead of 142",
        ),
        (
            permissions::LOGISTICS,
            "查询物流轨迹、管理运单",
            "track parcels and manage waybills",
        ),
    ] {
        body.push_str(&format!(
            "<li><strong>{id}</strong> {}: {}</li>",
            escape(permissions::name(id)),
            t(why_zh, why_en)
        ));
    }
    body.push_str("</ul>");
    body.push_str(&format!(
        "<form method=post action=\"/onboard/{token}/authorize\"><input type=hidden name=page value={page}><input type=hidden name=lang value={lang}><button type=submit>{button}</button></form>",
        token = escape(token),
        page = page.as_str(),
        lang = match lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        },
        button = t("前往授权", "Go to authorization"),
    ));
    body.push_str(&format!(
        "<p class=hint>{}</p>",
        match page {
            AuthPage::Pc => t(
                "点击后微信会显示二维码，请用小程序管理员的微信扫码确认。也可以在手机微信中打开此链接直接授权。",
                "WeChat will show a QR code: scan it with the WeChat of the Mini Program's administrator. You can also open this link in WeChat on your phone and authorize there.",
            ),
            AuthPage::Mobile => t(
                "点击后将在微信中打开授权页，请用小程序管理员的微信确认。",
                "WeChat's authorization page opens here: confirm it as the Mini Program's administrator.",
            ),
        }
    ));
    body.push_str(&switch_language(
        lang,
        &format!("/onboard/{}", escape(token)),
    ));
    page_response(
        lang,
        StatusCode::OK,
        t("授权小程序", "Authorize your Mini Program"),
        &body,
    )
}

/// What was granted, and in plain words what is missing for shipping and
/// logistics, and the step that follows.
pub fn granted(lang: Lang, result: &OnboardingResult) -> Response {
    page_response(
        lang,
        StatusCode::OK,
        lang.pick("授权完成", "Authorization complete"),
        &granted_html(lang, result),
    )
}

pub fn granted_html(lang: Lang, result: &OnboardingResult) -> String {
    let t = |zh, en| lang.pick(zh, en);
    let mut html = format!(
        "<p>{} <code>{}</code> {}</p><h2>{}</h2><ul>",
        t("小程序", "Mini Program"),
        escape(&result.authorizer_appid),
        t("已授权给第三方平台。", "has authorized the platform."),
        t("已授权的权限集", "Granted permission sets"),
    );
    for id in &result.funcscopes {
        html.push_str(&format!(
            "<li>{id}: {}</li>",
            escape(permissions::name(*id))
        ));
    }
    html.push_str("</ul>");
    let has = |id| result.funcscopes.contains(&id);
    if !has(permissions::SHIPPING_MANAGEMENT) && !has(permissions::DEVELOPMENT) {
        html.push_str(&format!(
            "<p class=warn><strong>{}</strong> {}</p>",
            t("发货将无法使用：", "Shipping will not work:"),
            t(
                "未授权 142（发货信息管理）或 18（开发管理）。请重新打开链接授权并勾选其一。",
                "neither set 142 (shipping information management) nor set 18 (development) was granted. Authorize again and tick one of them.",
            )
        ));
    }
    if !has(permissions::LOGISTICS) {
        html.push_str(&format!(
            "<p class=warn><strong>{}</strong> {}</p>",
            t("物流将无法使用：", "Logistics will not work:"),
            t(
                "未授权 45（微信物流服务）。",
                "set 45 (WeChat logistics) was not granted.",
            )
        ));
    } else {
        html.push_str(&format!(
            "<p>{}</p>",
            t(
                "下一步：物流查询接口需要小程序先开通「物流查询插件」，平台会为你申请或告诉你如何开通。",
                "Next step: the logistics query APIs need the Mini Program's logistics query plugin (物流查询插件) opened; the platform applies for it or tells you how.",
            )
        ));
    }
    if result.owned_by_other_tenant {
        html.push_str(&format!(
            "<p class=warn>{}</p>",
            t(
                "此小程序此前已连接到本平台的另一个账户，仍保留在那里；如需迁移，请联系平台运营方。",
                "This Mini Program was already connected to another account on this platform and stays there; contact the platform operator to move it.",
            )
        ));
    }
    html
}

/// WeChat sent the browser back without a code.
pub fn incomplete(lang: Lang) -> Response {
    page_response(
        lang,
        StatusCode::BAD_REQUEST,
        lang.pick("授权未完成", "Authorization incomplete"),
        &format!(
            "<p>{}</p>",
            lang.pick(
                "微信没有返回授权码。请重新打开授权链接。",
                "WeChat did not return an authorization code. Open the onboarding link again.",
            )
        ),
    )
}

/// Too many requests from this address (or for this link or visit).
pub fn throttled(lang: Lang, throttled: Throttled) -> Response {
    let mut response = page_response(
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        lang.pick("请稍后再试", "Please wait a moment"),
        &format!(
            "<p>{}</p>",
            lang.pick(
                "请求过于频繁。请稍等一分钟后再打开授权链接。",
                "Too many attempts in a short time. Wait a minute, then open the onboarding link again.",
            )
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&throttled.retry_after_secs.to_string()) {
        response.headers_mut().insert("retry-after", v);
    }
    response
}

/// The status of the page for a refusal.
pub fn status_of(err: &AuthError) -> StatusCode {
    match err {
        AuthError::LinkNotFound | AuthError::VisitNotFound => StatusCode::NOT_FOUND,
        AuthError::LinkUnusable(_) | AuthError::TenantInactive => StatusCode::GONE,
        AuthError::AuthorizerInactive { .. } | AuthError::VisitCompleted => StatusCode::CONFLICT,
        AuthError::Wechat(e) if e.errcode().is_some() => StatusCode::BAD_GATEWAY,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A refusal the merchant understands; the details go to the log only.
pub fn error(lang: Lang, err: &AuthError) -> Response {
    let t = |zh, en| lang.pick(zh, en);
    let message = match err {
        AuthError::LinkNotFound => t(
            "此授权链接不存在。请向服务商索取新的链接。",
            "This onboarding link does not exist. Ask for a new one.",
        ),
        AuthError::LinkUnusable(LinkState::Expired) => t(
            "此授权链接已过期。请向服务商索取新的链接。",
            "This onboarding link has expired. Ask for a new one.",
        ),
        AuthError::LinkUnusable(LinkState::AlreadyUsed) => t(
            "此授权链接已被使用过。请向服务商索取新的链接。",
            "This onboarding link has already been used. Ask for a new one.",
        ),
        AuthError::LinkUnusable(_) => t(
            "此授权链接已被撤销。请向服务商索取新的链接。",
            "This onboarding link has been revoked. Ask for a new one.",
        ),
        AuthError::TenantInactive => t(
            "发出此链接的服务商账户当前已停用，暂时无法授权。请联系服务商。",
            "The account that sent this link is suspended, so it cannot take authorizations now. Contact them.",
        ),
        AuthError::AuthorizerInactive { .. } => t(
            "此小程序的授权当前无效。请重新打开授权链接完成授权。",
            "This Mini Program's authorization is not active. Open the onboarding link again to authorize.",
        ),
        AuthError::VisitNotFound => t(
            "这次授权尝试不存在或已过期。请重新打开授权链接。",
            "This authorization attempt is unknown or has expired. Open the onboarding link again.",
        ),
        AuthError::VisitCompleted => t(
            "这次授权已经完成，不能再次提交。如需重新授权，请重新打开授权链接。",
            "This authorization attempt has already been completed. To authorize again, open the onboarding link again.",
        ),
        AuthError::Wechat(e) if e.errcode().is_some() => {
            tracing::warn!(error = %err, "onboarding: WeChat refused");
            t(
                "微信拒绝了这一步。请重新打开授权链接；如果仍然失败，请联系服务商。",
                "WeChat refused the authorization step. Open the onboarding link again; if it keeps failing, contact the platform operator.",
            )
        }
        _ => {
            tracing::error!(error = %err, "onboarding failed");
            t(
                "平台暂时无法完成这一步。请几分钟后再试。",
                "The platform cannot complete this step right now. Please try again in a few minutes.",
            )
        }
    };
    page_response(
        lang,
        status_of(err),
        t("无法授权", "Authorization not possible"),
        &format!("<p>{}</p>", escape(message)),
    )
}

fn switch_language(lang: Lang, path: &str) -> String {
    match lang {
        Lang::Zh => format!("<p class=lang><a href=\"{path}?lang=en\">English</a></p>"),
        Lang::En => format!("<p class=lang><a href=\"{path}?lang=zh\">简体中文</a></p>"),
    }
}

fn page_response(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang={l}><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><meta name=referrer content=origin><title>{t}</title><style>body{{font-family:-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5}}.warn{{color:#a40}}.hint,.lang{{color:#666;font-size:.9em}}button{{font-size:1.1em;padding:.6em 2em;background:#07c160;color:#fff;border:0;border-radius:4px}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        l = lang.code(),
        t = escape(title)
    );
    let mut response = Html(html).with_status(status).into_response();
    let headers = response.headers_mut();
    // Nothing from another host, no framing (clickjacking the button).
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_when_shipping_sets_missing() {
        let r = OnboardingResult {
            authorizer_appid: "wx<b>".into(),
            tenant_id: "t".into(),
            funcscopes: [17].into_iter().collect(),
            owned_by_other_tenant: false,
        };
        let html = granted_html(Lang::En, &r);
        assert!(html.contains("Shipping will not work"));
        assert!(html.contains("Logistics will not work"));
        assert!(html.contains("wx&lt;b&gt;"));
        assert!(granted_html(Lang::Zh, &r).contains("发货将无法使用"));
        let ok = OnboardingResult {
            funcscopes: [18, 45, 142].into_iter().collect(),
            ..r
        };
        let html = granted_html(Lang::En, &ok);
        assert!(!html.contains("will not work"));
        assert!(html.contains("142: Shipping information management"));
        assert!(html.contains("logistics query plugin"));
    }

    #[test]
    fn language_from_the_query_then_the_browser() {
        assert_eq!(Lang::choose(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::choose(None, Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(Lang::choose(None, Some("de-DE")), Lang::Zh);
        assert_eq!(Lang::choose(None, None), Lang::Zh);
    }
}
