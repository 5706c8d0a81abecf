use std::{future::Future, sync::Arc};

use admin_api::{AdminState, JwtConfig, jwt::PublicKeys};
use anyhow::Context;
use api_proxy::{PermissionMap, ProxyApi, ProxyState};
use poem::{EndpointExt, Route};
use poem_openapi::OpenApiService;
use problem::Problem;
use store::Store;
use tenant_auth::{Clock, TenantAuth};

use crate::{
    config::{BodyLimits, Config},
    routes,
};

/// What the gateway's own handlers (pushes, onboarding) share, through
/// [`AppState`].
pub struct AppShared {
    pub auth: TenantAuth,
    pub limiter: ratelimit::RateLimiter,
    pub public_base_url: url::Url,
    /// Throttles of the onboarding pages.
    pub throttle: ratelimit::Throttle,
    pub onboarding: Arc<crate::config::OnboardingSettings>,
    pub trusted_proxies: Arc<crate::client_addr::TrustedProxies>,
}

/// [`AppShared`] behind one `Arc`: poem clones every `Data` value into
/// every request, so the state must cost one reference count to clone.
pub type AppState = Arc<AppShared>;

pub fn openapi_service() -> OpenApiService<(admin_api::AdminApi, ProxyApi), ()> {
    OpenApiService::new(
        (admin_api::api::admin_api(), api_proxy::proxy_api()),
        "tpgate",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "WeChat Open Platform third-party platform gateway: admin API (`/admin/v1`, JWT) \
         and the tenant proxy for WeChat APIs (`/v1/apps/{appid}/…`, API key). \
         Errors are `application/problem+json` (RFC 9457).",
    )
}

/// The OpenAPI document as committed in `openapi/tpgate.json`.
pub fn spec_json() -> String {
    openapi_service().spec()
}

/// A built, bound, not yet running tpgate.
pub struct Application {
    listener: tokio::net::TcpListener,
    port: u16,
    /// `/healthz`, `/readyz`, `/metrics`, `/docs`: kept off the public port.
    ops_listener: tokio::net::TcpListener,
    ops_port: u16,
    route: poem::endpoint::BoxEndpoint<'static>,
    ops_route: poem::endpoint::BoxEndpoint<'static>,
    /// The WeChat-compatible host on a listener of its own
    /// (`wechat_host.listen`), when set.
    wechat_host: Option<(
        tokio::net::TcpListener,
        u16,
        poem::endpoint::BoxEndpoint<'static>,
    )>,
    /// Time limits of every connection (`http.*`).
    http: Arc<crate::config::HttpSettings>,
    state: AppState,
    background_tasks: bool,
    /// How long in-flight requests may finish after a shutdown signal.
    drain: std::time::Duration,
    dispatcher: webhooks::Dispatcher,
    /// For the shipments worker.
    proxy: ProxyState,
    retention: crate::workers::RetentionSettings,
    call_log_settings: call_log::CallLogSettings,
    /// The log every WeChat call goes to, and its writer (see
    /// [`Application::run_until_stopped`] for how it is flushed).
    call_log: call_log::CallLog,
    call_log_writer: tokio::task::JoinHandle<()>,
}

/// How long the call log may take to write what is queued at shutdown.
const CALL_LOG_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// Binds `addr`, or takes an already bound listener (tests, sandbox).
async fn bind(
    given: Option<std::net::TcpListener>,
    addr: std::net::SocketAddr,
    what: &str,
) -> anyhow::Result<(tokio::net::TcpListener, u16)> {
    let listener = match given {
        Some(l) => {
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)?
        }
        None => tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {what} {addr}"))?,
    };
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

impl Application {
    /// Connects storage, migrates, wires routes and binds `config.listen`
    /// and `config.ops_listen` (or takes an already bound public listener,
    /// as the tests and sandbox do).
    pub async fn build(
        config: &Config,
        listener: Option<std::net::TcpListener>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let sealer = config.sealer()?;
        let store = Store::connect(&config.database_url, config.redis_url.as_deref(), sealer)
            .await
            .context("connecting storage")?
            .with_redis_prefix(&config.redis_key_prefix)
            .with_cache_ttl(config.proxy.cache_ttl())
            .with_event_batching(config.event_batch_max);
        if config.migrate_on_start {
            store.migrate().await.context("running migrations")?;
        }
        // Without migrate_on_start the schema may be behind: serve anyway,
        // and /readyz answers 503 until `tpgate migrate` has run.
        let schema_current = store.schema_is_current().await;
        if !schema_current {
            tracing::warn!("the database schema is behind: not ready until `tpgate migrate` runs");
        }
        // Before anything records a metric: the facade drops what comes earlier.
        crate::telemetry::prometheus();
        let (call_log, call_log_writer) = call_log::CallLog::start(store.clone(), &config.call_log);
        let auth = TenantAuth::new(store.clone(), config.component_config(), clock)
            .context("component configuration")?
            .with_call_log(call_log.clone());
        let limiter = ratelimit::RateLimiter::new(store.clone());
        if schema_current {
            limiter
                .reload()
                .await
                .context("loading rate-limit policies")?;
        }
        let dispatcher = webhooks::Dispatcher::new(store.clone(), config.webhooks.clone())
            .context("webhook HTTP client")?;
        // One map: the proxy enforces it, the health view reports against it.
        let permissions = Arc::new(PermissionMap::new(config.proxy.permission_sets.clone()));
        let proxy = ProxyState::new(api_proxy::ProxyShared {
            auth: auth.clone(),
            limiter: limiter.clone(),
            permissions: permissions.clone(),
            settings: Arc::new(config.proxy.clone()),
            couriers: Default::default(),
            shipments: Arc::new(config.shipments.clone()),
            reconciliation: Arc::new(config.reconciliation.clone()),
        });
        let state = AppState::new(AppShared {
            auth: auth.clone(),
            limiter: limiter.clone(),
            public_base_url: config.public_base_url.clone(),
            throttle: ratelimit::Throttle::new(store.clone()),
            onboarding: Arc::new(config.onboarding.clone()),
            trusted_proxies: Arc::new(crate::client_addr::TrustedProxies::parse(
                &config.http.trusted_proxies,
            )?),
        });
        let admin = AdminState::new(admin_api::AdminShared {
            store,
            auth: auth.clone(),
            limiter,
            permissions,
            jwt: JwtConfig {
                issuer: config.admin.jwt_issuer.clone(),
                audience: config.admin.jwt_audience.clone(),
                hs256_secret: config.admin.hs256_secret(),
                public_keys: PublicKeys::load(&config.admin)
                    .await
                    .context(
                        "loading admin JWT public keys (admin.jwt_public_key_files, admin.jwks_path, admin.jwks_url)",
                    )?,
            },
            public_base_url: config.public_base_url.clone(),
            throttle: state.throttle.clone(),
            limits: admin_api::AdminLimits {
                max_webhooks_per_tenant: config.webhooks.max_endpoints_per_tenant,
                replays_per_tenant_per_hour: config.webhooks.replays_per_tenant_per_hour,
            },
        });
        let (listener, port) = bind(listener, config.listen, "listen").await?;
        let (ops_listener, ops_port) = bind(None, config.ops_listen, "ops_listen").await?;
        let limits = config.http.body_limits();
        let console = console::ConsoleState {
            admin: admin.clone(),
            settings: config.console,
        };
        let host = config.wechat_host.clone();
        let wechat_host = match (host.enabled, host.listen) {
            (true, Some(addr)) => {
                let (l, port) = bind(None, addr, "wechat_host.listen").await?;
                let route = wechat_host_router(proxy.clone(), host.clone(), &limits, &call_log);
                Some((l, port, route))
            }
            _ => None,
        };
        let on_main = host.enabled && host.listen.is_none();
        let route = router(
            state.clone(),
            admin,
            console,
            proxy.clone(),
            (on_main, host),
            &limits,
            &call_log,
        );
        let ops_route = ops_router(state.clone(), &limits, &call_log);
        Ok(Self {
            listener,
            port,
            ops_listener,
            ops_port,
            route,
            ops_route,
            wechat_host,
            http: Arc::new(config.http.clone()),
            state,
            background_tasks: config.background_tasks,
            drain: std::time::Duration::from_secs(config.shutdown_drain_secs),
            dispatcher,
            proxy,
            retention: config.retention,
            call_log_settings: config.call_log.clone(),
            call_log,
            call_log_writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ops listener's port.
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// The WeChat-compatible host's own port, when it has one.
    pub fn wechat_host_port(&self) -> Option<u16> {
        self.wechat_host.as_ref().map(|(_, port, _)| *port)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (and runs the background tasks) until `shutdown` resolves,
    /// then stops accepting, drains in-flight requests (up to
    /// `shutdown_drain_secs`, 25 by default: inside Kubernetes' default 30 s
    /// grace period), lets the background tasks finish their tick and
    /// writes the calls still queued for the call log.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut workers = if self.background_tasks {
            crate::workers::spawn(
                self.state.auth.clone(),
                self.state.limiter.clone(),
                self.dispatcher.clone(),
                self.proxy.clone(),
                self.retention,
                self.call_log_settings.clone(),
                stop_rx.clone(),
            )
        } else {
            tokio::task::JoinSet::new()
        };
        // Not a background task but part of serving: without it, a key
        // revoked through another replica would keep working here until
        // the cache TTL ends.
        let store = self.state.auth.store().clone();
        workers.spawn({
            let stop_rx = stop_rx.clone();
            async move { store.follow_invalidations(stop_rx).await }
        });
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let ops = tokio::spawn(crate::server::serve(
            self.ops_listener,
            Arc::new(self.ops_route),
            self.http.clone(),
            stop_rx.clone(),
            self.drain,
        ));
        let wechat_host = self.wechat_host.map(|(listener, _, route)| {
            tokio::spawn(crate::server::serve(
                listener,
                Arc::new(route),
                self.http.clone(),
                stop_rx.clone(),
                self.drain,
            ))
        });
        crate::server::serve(
            self.listener,
            Arc::new(self.route),
            self.http,
            stop_rx,
            self.drain,
        )
        .await;
        let _ = ops.await;
        if let Some(host) = wechat_host {
            let _ = host.await;
        }
        // Background work in progress (a refresh, a round of deliveries)
        // gets the same allowance as requests, then the process goes.
        let finished = tokio::time::timeout(self.drain, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!("background tasks did not finish within the drain; stopping anyway");
            workers.abort_all();
        }
        // Calls counted for usage only since the last second.
        self.state.limiter.flush_usage().await;
        // Nothing of ours records calls any more. Closed, not just dropped:
        // clones may outlive this (a caller's `TenantAuth`, spawned work).
        self.call_log.close();
        drop(self.call_log);
        if tokio::time::timeout(CALL_LOG_FLUSH, self.call_log_writer)
            .await
            .is_err()
        {
            tracing::warn!("the call log could not write its queued calls in time; they are lost");
        }
        Ok(())
    }
}

fn router(
    state: AppState,
    admin: AdminState,
    console: console::ConsoleState,
    proxy: ProxyState,
    (host_on_main, host): (bool, api_proxy::wechat_host::WechatHostSettings),
    limits: &BodyLimits,
    call_log: &call_log::CallLog,
) -> poem::endpoint::BoxEndpoint<'static> {
    let api = openapi_service();
    let spec = Arc::new(api.spec());
    let mut extra = non_openapi_routes(spec.clone(), limits);
    if host_on_main {
        extra.extend(wechat_host_routes(limits));
    }
    let guard = crate::spec_guard::SpecGuard::from_spec(
        &serde_json::from_str(&spec).unwrap_or(serde_json::Value::Null),
        extra.iter().map(|r| (r.path, r.method.clone())),
    );
    route_table(extra)
        .nest("/", api.with(limits.api))
        .with(console::SessionCredential {
            state: console.clone(),
        })
        .with(crate::request_data::RequestData {
            app: state,
            admin,
            console,
            proxy,
            host,
        })
        .catch_all_error(problem_for)
        .with(guard)
        .with(crate::request_log::RequestLog::new(call_log.clone()))
        .boxed()
}

/// The routes of `extra` (one `RouteMethod` per path: a path served with
/// several methods is several rows of the table).
fn route_table(extra: Vec<ExtraRoute>) -> Route {
    let mut paths: Vec<(&'static str, poem::RouteMethod)> = Vec::new();
    for r in extra {
        match paths.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, methods)) => {
                *methods = std::mem::take(methods).method(r.method, r.endpoint);
            }
            None => paths.push((
                r.path,
                poem::RouteMethod::new().method(r.method, r.endpoint),
            )),
        }
    }
    let mut route = Route::new();
    for (path, methods) in paths {
        route = route.at(path, methods);
    }
    route
}

/// The WeChat-compatible host (`api_proxy::wechat_host`): the token
/// endpoints, every typed API at its WeChat path and method, and `/wxa/…`
/// and `/cgi-bin/…` for tenants allowed the raw passthrough.
fn wechat_host_routes(limits: &BodyLimits) -> Vec<ExtraRoute> {
    use api_proxy::{
        catalog,
        wechat_host::{self, WechatShaped},
    };
    use poem::http::Method;
    let route = |path, method, endpoint: poem::endpoint::BoxEndpoint<'static>| ExtraRoute {
        path,
        method,
        endpoint: endpoint.with(WechatShaped).boxed(),
    };
    let token = || wechat_host::get_token.with(limits.other).boxed();
    let call = || wechat_host::api_call.with(limits.api).boxed();
    let mut routes = vec![
        route("/cgi-bin/token", Method::GET, token()),
        route("/cgi-bin/token", Method::POST, token()),
        route(
            "/cgi-bin/stable_token",
            Method::POST,
            wechat_host::stable_token.with(limits.other).boxed(),
        ),
    ];
    // Both methods: the wrong one answers WeChat's 43001/43002.
    for api in catalog::ALL {
        for method in [Method::GET, Method::POST] {
            routes.push(route(api.path, method, call()));
        }
    }
    for path in ["/wxa/*path", "/cgi-bin/*path"] {
        for method in [Method::GET, Method::POST] {
            routes.push(route(path, method, call()));
        }
    }
    routes
}

/// The WeChat-compatible host alone, for `wechat_host.listen`.
fn wechat_host_router(
    proxy: ProxyState,
    host: api_proxy::wechat_host::WechatHostSettings,
    limits: &BodyLimits,
    call_log: &call_log::CallLog,
) -> poem::endpoint::BoxEndpoint<'static> {
    use poem::http::Method;
    let mut routes = wechat_host_routes(limits);
    routes.push(ExtraRoute {
        path: "/healthz",
        method: Method::GET,
        endpoint: routes::health::healthz.with(limits.other).boxed(),
    });
    // Every other path answers in WeChat's shape too (48001: not proxied),
    // as a host of WeChat's would.
    for method in [Method::GET, Method::POST] {
        routes.push(ExtraRoute {
            path: "/*path",
            method,
            endpoint: api_proxy::wechat_host::api_call
                .with(limits.api)
                .with(api_proxy::wechat_host::WechatShaped)
                .boxed(),
        });
    }
    route_table(routes)
        .data(proxy)
        .data(host)
        .catch_all_error(problem_for)
        .with(crate::request_log::RequestLog::new(call_log.clone()))
        .boxed()
}

/// A route served outside the OpenAPI document.
struct ExtraRoute {
    /// poem's syntax: `:param`, a final `*rest`.
    path: &'static str,
    method: poem::http::Method,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
}

/// Every public route outside the OpenAPI document, in one table: the
/// router serves it and the spec guard (405 `Allow`, unknown query
/// parameters) knows it from the same list.
fn non_openapi_routes(spec: Arc<String>, limits: &BodyLimits) -> Vec<ExtraRoute> {
    use poem::http::Method;
    let route = |path, method, endpoint: poem::endpoint::BoxEndpoint<'static>| ExtraRoute {
        path,
        method,
        endpoint,
    };
    vec![
        route(
            "/wechat/component/events",
            Method::POST,
            routes::wechat_events::component_events
                .with(limits.push)
                .boxed(),
        ),
        route(
            "/wechat/apps/:appid/events",
            Method::POST,
            routes::app_events::app_events.with(limits.push).boxed(),
        ),
        route(
            "/v1/apps/:appid/raw/*path",
            Method::POST,
            api_proxy::raw_passthrough.with(limits.api).boxed(),
        ),
        route(
            "/onboard/complete",
            Method::GET,
            routes::onboarding::complete.with(limits.other).boxed(),
        ),
        route(
            "/onboard/:token",
            Method::GET,
            routes::onboarding::landing.with(limits.other).boxed(),
        ),
        route(
            "/onboard/:token/authorize",
            Method::POST,
            routes::onboarding::authorize.with(limits.other).boxed(),
        ),
        // The operator console (its own files and sessions; everything
        // else it does is the admin API).
        route(
            "/console",
            Method::GET,
            console::assets::root.with(limits.other).boxed(),
        ),
        route(
            "/console/",
            Method::GET,
            console::assets::file.with(limits.other).boxed(),
        ),
        route(
            "/console/api/session",
            Method::GET,
            console::session::current.with(limits.other).boxed(),
        ),
        route(
            "/console/api/session",
            Method::POST,
            console::session::sign_in.with(limits.other).boxed(),
        ),
        route(
            "/console/api/session",
            Method::DELETE,
            console::session::sign_out.with(limits.other).boxed(),
        ),
        route(
            "/console/*path",
            Method::GET,
            console::assets::file.with(limits.other).boxed(),
        ),
        // Liveness only (no I/O): load balancers probe the public port.
        route(
            "/healthz",
            Method::GET,
            routes::health::healthz.with(limits.other).boxed(),
        ),
        route(
            "/openapi.json",
            Method::GET,
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.as_str().to_owned())
            })
            .with(limits.other)
            .boxed(),
        ),
    ]
}

/// The ops listener: probes, metrics and the API browser, for the cluster
/// and operators, never routed from the Ingress.
fn ops_router(
    state: AppState,
    limits: &BodyLimits,
    call_log: &call_log::CallLog,
) -> poem::endpoint::BoxEndpoint<'static> {
    Route::new()
        .at("/healthz", poem::get(routes::health::healthz))
        .at("/readyz", poem::get(routes::health::readyz))
        .at("/metrics", poem::get(routes::health::metrics))
        .nest("/docs", openapi_service().swagger_ui())
        .with(limits.other)
        .data(state)
        .catch_all_error(problem_for)
        .with(crate::request_log::RequestLog::new(call_log.clone()))
        .boxed()
}

async fn problem_for(err: poem::Error) -> poem::Response {
    use poem::IntoResponse;
    Problem::from_poem_error(&err).into_response()
}
