//! A misbehaving registry: a real HTTP/1.1 server on 127.0.0.1 (tokio `TcpListener`, raw
//! bytes on the socket, no HTTP library) whose answer to every request is chosen by a
//! [`Fault`]. One request per connection (`Connection: close`). Stopped on drop.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Size of the "huge" body: 100 MB, streamed in blocks, never held in memory.
pub const HUGE_BODY: u64 = 100_000_000;

/// How the server answers.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The control case: 200 with a valid `processing` record for the record asked about.
    Healthy,
    /// Accept the connection, read the request, never answer.
    Silent,
    /// Read the request, then close the connection without a byte of answer.
    CloseWithoutAnswer,
    /// Answer correctly, but only after this long.
    Delay(Duration),
    /// Valid headers, then the (valid) body one byte per second.
    DripBody,
    /// The whole (valid) answer one byte per second, headers included.
    DripHeaders,
    /// Headers with `Content-Length: 1000`, 10 bytes of body, then a TCP reset (SO_LINGER 0).
    ResetMidBody,
    /// This status with an HTML error page, as a proxy in front of a registry would send.
    Html(u16),
    /// 200 with bytes that are not JSON.
    Garbage,
    /// 200 with valid JSON that is not a record.
    WrongShape,
    /// 200 with `Content-Length: 1000` but only the first 40 bytes of a record, then a clean close.
    Truncated,
    /// 200 with a 100 MB body; `declared` sends its `Content-Length`, else the body is
    /// delimited by the connection close so the client only finds out by reading.
    Huge { declared: bool },
    /// 302 to the very URL asked for.
    RedirectLoop,
    /// A valid record whose `recordId` is this one, whatever was asked.
    OtherRecord(String),
    /// `fault` for requests about this record ID, [`Fault::Healthy`] for every other.
    Only { record: String, fault: Box<Fault> },
}

/// What the server saw and did.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
    /// The most body bytes any one connection got accepted by the socket.
    pub max_body_sent: AtomicU64,
}

pub struct FaultServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub stats: Arc<Stats>,
    fault: Arc<std::sync::Mutex<Fault>>,
    task: tokio::task::JoinHandle<()>,
}

/// One runtime for every server of the test binary.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-server")
            .enable_all()
            .build()
            .expect("fault server runtime")
    })
}

impl FaultServer {
    pub fn start(fault: Fault) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let stats = Arc::new(Stats::default());
        let fault = Arc::new(std::sync::Mutex::new(fault));
        let task = runtime().spawn(accept_loop(std_listener, fault.clone(), stats.clone()));
        Self {
            url: format!("http://{addr}"),
            stats,
            fault,
            task,
        }
    }

    /// Changes how the server answers from the next connection on (the same registry URL
    /// recovers, or starts failing).
    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// A URL where nothing listens, so connecting is refused.
    pub fn refused_url() -> String {
        crate::common::refused_url()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(
    std_listener: std::net::TcpListener,
    fault: Arc<std::sync::Mutex<Fault>>,
    stats: Arc<Stats>,
) {
    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        stats.connections.fetch_add(1, Ordering::SeqCst);
        let current = fault.lock().unwrap().clone();
        conns.spawn(serve(sock, current, stats.clone()));
        while conns.try_join_next().is_some() {}
    }
}

/// Reads one request head; returns its path.
async fn read_request(sock: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    head.lines()
        .next()?
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
}

/// The record ID at the end of `/v1/package/{logId}/record/{recordId}`.
fn asked_record(path: &str) -> String {
    path.rsplit_once("/record/")
        .map(|(_, r)| r.to_string())
        .unwrap_or_default()
}

/// The trust endpoints this fake does not serve (all but the checkpoint).
fn is_other_trust_endpoint(path: &str) -> bool {
    ["/v1/fetch/logs", "/v1/ledger", "/v1/proof/"]
        .iter()
        .any(|p| path.contains(p))
}

fn is_checkpoint(path: &str) -> bool {
    path.ends_with("/v1/fetch/checkpoint")
}

/// A well-formed checkpoint (the dashboard's watcher reads it for the header).
pub fn checkpoint_json() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let h = format!("sha256:{}", "ab".repeat(32));
    serde_json::json!({
        "contents": {"logLength": 1, "logRoot": h, "mapRoot": h, "timestamp": now},
        "keyId": h,
        "signature": "ecdsa-p256:AAAA",
    })
    .to_string()
}

pub fn record_json(record_id: &str) -> String {
    serde_json::json!({ "recordId": record_id, "state": "processing" }).to_string()
}

fn head(status: &str, content_type: &str, length: Option<usize>) -> String {
    let mut h =
        format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\n");
    if let Some(n) = length {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("\r\n");
    h
}

fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = head(status, content_type, Some(body.len())).into_bytes();
    r.extend_from_slice(body);
    r
}

fn reason(code: u16) -> &'static str {
    match code {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

pub fn html_page(code: u16) -> String {
    let r = reason(code);
    format!(
        "<html>\r\n<head><title>{code} {r}</title></head>\r\n<body>\r\n<center><h1>{code} {r}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

async fn serve(mut sock: TcpStream, fault: Fault, stats: Arc<Stats>) {
    let Some(path) = read_request(&mut sock).await else {
        return;
    };
    stats.requests.fetch_add(1, Ordering::SeqCst);
    // This registry serves records and a checkpoint, not the rest of the trust API: a healthy
    // (or record-specific) one says so with a bare 404, so a verification cycle cannot run
    // and trust is off, as with any registry without those endpoints.
    let healthy_elsewhere = matches!(
        fault,
        Fault::Healthy | Fault::Only { .. } | Fault::OtherRecord(_)
    );
    if healthy_elsewhere && is_other_trust_endpoint(&path) {
        let body = br#"{"status":404,"message":"not found"}"#;
        let _ = sock
            .write_all(&response("404 Not Found", "application/json", body))
            .await;
        return;
    }
    let fault = match fault {
        // A record-specific fault leaves the rest of the registry (its checkpoint) healthy.
        Fault::Only { .. } | Fault::OtherRecord(_) if is_checkpoint(&path) => Fault::Healthy,
        Fault::Only { record, fault } if asked_record(&path) == record => *fault,
        Fault::Only { .. } => Fault::Healthy,
        f => f,
    };
    // Write errors only mean the client gave up, which is what most faults are about.
    let _ = answer(&mut sock, &path, &fault, &stats).await;
}

async fn answer(
    sock: &mut TcpStream,
    path: &str,
    fault: &Fault,
    stats: &Stats,
) -> std::io::Result<()> {
    let healthy = || {
        let body = if is_checkpoint(path) {
            checkpoint_json()
        } else {
            record_json(&asked_record(path))
        };
        response("200 OK", "application/json", body.as_bytes())
    };
    match fault {
        Fault::Healthy => sock.write_all(&healthy()).await?,
        Fault::Only { .. } => unreachable!("resolved in serve"),
        Fault::Silent => {
            std::future::pending::<()>().await;
        }
        Fault::CloseWithoutAnswer => return Ok(()),
        Fault::Delay(d) => {
            tokio::time::sleep(*d).await;
            sock.write_all(&healthy()).await?;
        }
        Fault::DripBody => {
            let body = record_json(&asked_record(path));
            sock.write_all(head("200 OK", "application/json", Some(body.len())).as_bytes())
                .await?;
            for b in body.bytes() {
                sock.write_all(&[b]).await?;
                sock.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::DripHeaders => {
            for b in healthy() {
                sock.write_all(&[b]).await?;
                sock.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::ResetMidBody => {
            sock.write_all(head("200 OK", "application/json", Some(1000)).as_bytes())
                .await?;
            sock.write_all(b"{\"recordId").await?;
            sock.flush().await?;
            // Let the client take in the head and the first bytes, then reset the connection.
            tokio::time::sleep(Duration::from_millis(300)).await;
            sock.set_zero_linger()?;
            return Ok(());
        }
        Fault::Html(code) => {
            let status = format!("{code} {}", reason(*code));
            sock.write_all(&response(&status, "text/html", html_page(*code).as_bytes()))
                .await?;
        }
        Fault::Garbage => {
            let body = b"\x00\xff\xfeGARBAGE <<< this is not JSON >>> \x1b[31m";
            sock.write_all(&response("200 OK", "application/json", body))
                .await?;
        }
        Fault::WrongShape => {
            let body = br#"{"status":"ok","items":[1,2,3]}"#;
            sock.write_all(&response("200 OK", "application/json", body))
                .await?;
        }
        Fault::Truncated => {
            let body = if is_checkpoint(path) {
                checkpoint_json()
            } else {
                record_json(&asked_record(path))
            };
            sock.write_all(head("200 OK", "application/json", Some(1000)).as_bytes())
                .await?;
            sock.write_all(&body.as_bytes()[..40]).await?;
            sock.flush().await?;
            sock.shutdown().await?;
        }
        Fault::Huge { declared } => {
            let length = declared.then_some(HUGE_BODY as usize);
            sock.write_all(head("200 OK", "application/json", length).as_bytes())
                .await?;
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < HUGE_BODY {
                let n = block.len().min((HUGE_BODY - sent) as usize);
                sock.write_all(&block[..n]).await?;
                sent += n as u64;
                stats.max_body_sent.fetch_max(sent, Ordering::SeqCst);
            }
            sock.shutdown().await?;
        }
        Fault::RedirectLoop => {
            let r = format!("HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            sock.write_all(r.as_bytes()).await?;
        }
        Fault::OtherRecord(id) => {
            sock.write_all(&response(
                "200 OK",
                "application/json",
                record_json(id).as_bytes(),
            ))
            .await?;
        }
    }
    sock.flush().await?;
    sock.shutdown().await
}
