//! The release-shaped process, not a test harness sharing its heap: a
//! 64 MiB HTTP/2 body without a length, sent to each route class of a real
//! `tpgate serve`, is refused with 413 and the process's peak memory
//! (`VmHWM`) grows by less than 16 MiB in all.
#![cfg(target_os = "linux")]

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Peak resident set size of `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn body(total: usize) -> reqwest::Body {
    let chunk: Vec<u8> = b"<xml><Encrypt>"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..total / chunk.len()).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    ))
}

#[tokio::test]
async fn a_64_mib_h2c_body_costs_no_memory() {
    let dir = std::env::temp_dir().join(format!("tpgate-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let ops = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tpgate"))
        .arg("serve")
        .env_clear()
        .env("TPGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("TPGATE_OPS_LISTEN", format!("127.0.0.1:{ops}"))
        .env(
            "TPGATE_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("mem.db").display()),
        )
        .env(
            "TPGATE_SEALING_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env(
            "TPGATE_ADMIN__JWT_SECRET",
            "0123456789abcdef0123456789abcdef",
        )
        .env("TPGATE_COMPONENT__APPID", "wxcomponent0000001")
        .env("TPGATE_COMPONENT__SECRET", "secret")
        // Digits only: WeChat allows such message tokens.
        .env("TPGATE_COMPONENT__TOKEN", "987654321")
        .env(
            "TPGATE_COMPONENT__ENCODING_AES_KEY",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        )
        .env("TPGATE_WECHAT__API_BASE", "http://127.0.0.1:9/")
        .env("TPGATE_WECHAT__MP_BASE", "http://127.0.0.1:9/")
        .env("TPGATE_BACKGROUND_TASKS", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tpgate starts");
    let pid = child.id();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if h2
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        up,
        "tpgate serve did not come up (a digits-only token must be accepted)"
    );
    let paths = [
        "/wechat/component/events?timestamp=1&nonce=n&msg_signature=s&encrypt_type=aes",
        "/wechat/apps/wx0123456789abcdef/events?timestamp=1&nonce=n&msg_signature=s&encrypt_type=aes",
        "/admin/v1/tenants",
        "/v1/apps/wx0123456789abcdef/wxa/sec/order/get_order",
        "/v1/apps/wx0123456789abcdef/raw/wxa/anything",
    ];
    // Warm every route once (lazy statics, pools), then take the baseline.
    for path in paths {
        let _ = h2.post(format!("{base}{path}")).body("{}").send().await;
    }
    let before = peak_rss(pid);
    for path in paths {
        let resp = h2
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body(64 * 1024 * 1024))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413, "{path}");
    }
    let grown = peak_rss(pid).saturating_sub(before);
    eprintln!(
        "peak RSS grew by {} KiB over five 64 MiB attempts",
        grown / 1024
    );
    assert!(grown < 16 * 1024 * 1024, "peak RSS grew by {grown} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}
