//! The shared states handlers read with `Data<&…>`, added to every request
//! in one layer.
//!
//! poem's `.data(value)` is a layer per value, and every layer's future holds
//! the request and the next layer's future, which it moves when it starts
//! it: with five states that was four extra moves of a future of several
//! kilobytes on every request (the largest share of the gate's `memmove`
//! in a profile of proxied calls).
use poem::{Endpoint, Middleware, Request, Result};

use admin_api::AdminState;
use api_proxy::{ProxyState, wechat_host::WechatHostSettings};

use crate::app::AppState;

/// Every state, cloned into each request's extensions (each is an `Arc`
/// or small settings), as `.data()` would.
#[derive(Clone)]
pub struct RequestData {
    pub app: AppState,
    pub admin: AdminState,
    pub console: console::ConsoleState,
    pub proxy: ProxyState,
    pub host: WechatHostSettings,
}

impl<E: Endpoint> Middleware<E> for RequestData {
    type Output = RequestDataEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestDataEndpoint {
            inner,
            data: self.clone(),
        }
    }
}

pub struct RequestDataEndpoint<E> {
    inner: E,
    data: RequestData,
}

impl<E: Endpoint> Endpoint for RequestDataEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let data = &self.data;
        let extensions = req.extensions_mut();
        extensions.insert(data.app.clone());
        extensions.insert(data.admin.clone());
        extensions.insert(data.console.clone());
        extensions.insert(data.proxy.clone());
        extensions.insert(data.host.clone());
        self.inner.call(req).await
    }
}
