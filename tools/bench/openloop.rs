//! `openloop`: a fixed-rate (open-loop) HTTP/1.1 load generator, standard
//! library only, so `rustc -O --edition 2021 openloop.rs` builds it in
//! seconds with no Cargo project and no downloads (Debian's own rustc 1.63
//! is enough). Why it exists: Debian bookworm packages neither wrk2 nor
//! vegeta, and wrk's Lua cannot make wrk open-loop.
//!
//! The model is wrk2's: `--connections` keep-alive connections, each a
//! thread with its own schedule, together sending `--rate` requests per
//! second at evenly spaced times. A request is sent at its scheduled time,
//! or at once if its connection is still busy with the previous one, and
//! its latency is counted from the *scheduled* time, so a server that stalls
//! is charged for the requests that queue behind the stall (no coordinated
//! omission). The latency from the actual send is reported too (`svc_*`).
//!
//! ```text
//! openloop --url http://127.0.0.1:8080/path?q=1 --rate 5000 --duration 20 \
//!     [--warmup 2] [--connections 32] [--header 'Authorization: Bearer …']… \
//!     [--body-file body.json] [--expect '"errcode":0,'] [--timeout 5]
//! ```
//!
//! Prints one line: `OPENLOOP ok=… errors=… seconds=… rate=… p50_ms=…
//! p90_ms=… p99_ms=… p999_ms=… max_ms=… svc_p50_ms=… svc_p99_ms=…`, where
//! `rate` is ok answers per second from the end of the warm-up to the last
//! answer (`seconds`: longer than `--duration` when the server fell behind,
//! so a server that cannot keep up shows its real rate). A request
//! counts as ok when the answer is HTTP 2xx and, with `--expect`, its body
//! contains that text; anything else (another status, a timeout, a closed
//! connection) is an error and the connection is opened again.
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::thread;
use std::time::{Duration, Instant};

struct Args {
    host_port: String,
    path: String,
    rate: f64,
    duration: f64,
    warmup: f64,
    connections: usize,
    headers: Vec<String>,
    body: Vec<u8>,
    expect: Option<Vec<u8>>,
    timeout: Duration,
}

fn usage(why: &str) -> ! {
    eprintln!("openloop: {why}");
    eprintln!(
        "usage: openloop --url http://HOST:PORT/PATH --rate PER_SEC --duration SECS [--warmup SECS] \
         [--connections N] [--header 'K: V']... [--body-file FILE] [--expect TEXT] [--timeout SECS]"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut url = None;
    let mut args = Args {
        host_port: String::new(),
        path: String::new(),
        rate: 0.0,
        duration: 0.0,
        warmup: 0.0,
        connections: 32,
        headers: Vec::new(),
        body: Vec::new(),
        expect: None,
        timeout: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = |v: String| -> f64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: {v:?} is not a number")))
        };
        match flag.as_str() {
            "--url" => url = Some(value()),
            "--rate" => args.rate = number(value()),
            "--duration" => args.duration = number(value()),
            "--warmup" => args.warmup = number(value()),
            "--connections" => args.connections = number(value()) as usize,
            "--header" => args.headers.push(value()),
            "--body-file" => {
                let path = value();
                args.body = std::fs::read(&path)
                    .unwrap_or_else(|e| usage(&format!("--body-file {path}: {e}")));
            }
            "--expect" => args.expect = Some(value().into_bytes()),
            "--timeout" => args.timeout = Duration::from_secs_f64(number(value())),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("--url is required"));
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| usage("only http:// URLs"));
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    args.host_port = host_port.to_owned();
    args.path = path.to_owned();
    if args.rate <= 0.0 || args.duration <= 0.0 || args.connections == 0 {
        usage("--rate, --duration and --connections must be positive");
    }
    args
}

/// The request, written once and sent as is every time.
fn request_bytes(args: &Args) -> Vec<u8> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        args.path,
        args.host_port,
        args.body.len()
    );
    for h in &args.headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&args.body);
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// One keep-alive connection and the bytes read past the last answer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(host_port: &str, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect(host_port)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Reads until `buf` holds at least `n` bytes.
    fn fill(&mut self, n: usize) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        while self.buf.len() < n {
            let got = self.stream.read(&mut chunk)?;
            if got == 0 {
                return Err(bad("connection closed mid-answer"));
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }

    /// Reads until `buf` contains `needle`; returns its position.
    fn fill_until(&mut self, needle: &[u8]) -> io::Result<usize> {
        loop {
            if let Some(i) = find(&self.buf, needle) {
                return Ok(i);
            }
            let n = self.buf.len() + 1;
            self.fill(n)?;
        }
    }

    /// Sends `request` and reads one answer: (status, body, keep-alive).
    fn exchange(&mut self, request: &[u8]) -> io::Result<(u16, Vec<u8>, bool)> {
        self.stream.write_all(request)?;
        let end = self.fill_until(b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let (mut length, mut chunked, mut keep_alive) = (None, false, true);
        for line in lines {
            let (name, value) = match line.split_once(':') {
                Some(pair) => pair,
                None => continue,
            };
            let value = value.trim().to_ascii_lowercase();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => keep_alive = !value.contains("close"),
                _ => {}
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let eol = self.fill_until(b"\r\n")?;
                let size_text = String::from_utf8_lossy(&self.buf[..eol]).into_owned();
                let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| bad("bad chunk size"))?;
                self.buf.drain(..eol + 2);
                if size == 0 {
                    // Trailers, if any, end with an empty line.
                    loop {
                        let eol = self.fill_until(b"\r\n")?;
                        self.buf.drain(..eol + 2);
                        if eol == 0 {
                            break;
                        }
                    }
                    break body;
                }
                self.fill(size + 2)?;
                body.extend_from_slice(&self.buf[..size]);
                self.buf.drain(..size + 2);
            }
        } else {
            let n = length.ok_or_else(|| bad("answer without a length"))?;
            self.fill(n)?;
            self.buf.drain(..n).collect()
        };
        Ok((status, body, keep_alive))
    }
}

#[derive(Default)]
struct Stats {
    /// Microseconds from the scheduled send to the end of the answer.
    scheduled: Vec<u32>,
    /// Microseconds from the actual send to the end of the answer.
    service: Vec<u32>,
    errors: u64,
    /// When the last measured answer arrived.
    last_done: Option<Instant>,
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

fn worker(k: usize, args: &Args, request: &[u8], t0: Instant) -> Stats {
    let mut stats = Stats::default();
    let interval = args.connections as f64 / args.rate;
    let offset = k as f64 / args.rate;
    let measure_from = t0 + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let mut conn: Option<Conn> = None;
    for i in 0u64.. {
        let scheduled = t0 + Duration::from_secs_f64(offset + i as f64 * interval);
        if scheduled >= end {
            break;
        }
        let now = Instant::now();
        if scheduled > now {
            thread::sleep(scheduled - now);
        }
        let measured = scheduled >= measure_from;
        if conn.is_none() {
            match Conn::open(&args.host_port, args.timeout) {
                Ok(c) => conn = Some(c),
                Err(_) => {
                    if measured {
                        stats.errors += 1;
                    }
                    continue;
                }
            }
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => continue,
        };
        let sent = Instant::now();
        let outcome = c.exchange(request);
        let done = Instant::now();
        let ok = match &outcome {
            Ok((status, body, _)) => {
                (200..300).contains(status)
                    && args.expect.as_ref().map_or(true, |e| find(body, e).is_some())
            }
            Err(_) => false,
        };
        if !matches!(outcome, Ok((_, _, true))) {
            conn = None;
        }
        if !measured {
            continue;
        }
        stats.last_done = Some(done);
        if ok {
            stats.scheduled.push(micros(done - scheduled));
            stats.service.push(micros(done - sent));
        } else {
            stats.errors += 1;
        }
    }
    stats
}

/// The `p`-quantile of sorted microseconds, in milliseconds.
fn quantile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

fn main() {
    let args = parse_args();
    let request = request_bytes(&args);
    // Every thread starts from the same instant, a moment from now.
    let t0 = Instant::now() + Duration::from_millis(200);
    let mut all = Stats::default();
    thread::scope(|s| {
        let handles: Vec<_> = (0..args.connections)
            .map(|k| {
                let (args, request) = (&args, &request);
                s.spawn(move || worker(k, args, request, t0))
            })
            .collect();
        for h in handles {
            let st = h.join().expect("a worker panicked");
            all.scheduled.extend(st.scheduled);
            all.service.extend(st.service);
            all.errors += st.errors;
            all.last_done = all.last_done.max(st.last_done);
        }
    });
    all.scheduled.sort_unstable();
    all.service.sort_unstable();
    let ok = all.scheduled.len();
    // The measured requests were sent over `duration`, but when the server
    // cannot keep up the last answers come later: the rate achieved is over
    // the time until then.
    let measure_from = t0 + Duration::from_secs_f64(args.warmup);
    let seconds = all.last_done.map_or(args.duration, |d| {
        d.saturating_duration_since(measure_from)
            .as_secs_f64()
            .max(args.duration)
    });
    println!(
        "OPENLOOP ok={ok} errors={} seconds={seconds:.1} rate={:.0} p50_ms={:.3} p90_ms={:.3} \
         p99_ms={:.3} p999_ms={:.3} max_ms={:.3} svc_p50_ms={:.3} svc_p99_ms={:.3}",
        all.errors,
        ok as f64 / seconds,
        quantile_ms(&all.scheduled, 0.50),
        quantile_ms(&all.scheduled, 0.90),
        quantile_ms(&all.scheduled, 0.99),
        quantile_ms(&all.scheduled, 0.999),
        quantile_ms(&all.scheduled, 1.0),
        quantile_ms(&all.service, 0.50),
        quantile_ms(&all.service, 0.99),
    );
}
