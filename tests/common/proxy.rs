//! A counting TCP proxy on 127.0.0.1 in front of a real registry: forwards bytes both ways and
//! counts the HTTP requests (by request line) that pass through, per path prefix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Default)]
pub struct Counts {
    /// `GET /v1/package/…/record/…` requests.
    pub record_gets: Arc<AtomicUsize>,
    /// All requests.
    pub total: Arc<AtomicUsize>,
    /// Most record GETs in flight at once.
    pub max_in_flight: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
}

impl Counts {
    pub fn record_gets(&self) -> usize {
        self.record_gets.load(Ordering::SeqCst)
    }
}

pub struct CountingProxy {
    pub url: String,
    pub counts: Counts,
}

fn count_requests(buf: &[u8], carry: &mut Vec<u8>, counts: &Counts) -> usize {
    // Request lines start a line; keep a small tail so one split across reads still counts.
    carry.extend_from_slice(buf);
    let text = String::from_utf8_lossy(carry);
    let mut gets = 0;
    for line in text.split("\r\n") {
        if line.starts_with("GET /") || line.starts_with("POST /") || line.starts_with("PUT /") {
            counts.total.fetch_add(1, Ordering::SeqCst);
            if line.starts_with("GET /v1/package/") && line.contains("/record/") {
                counts.record_gets.fetch_add(1, Ordering::SeqCst);
                gets += 1;
            }
        }
    }
    let keep = carry
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    carry.drain(..keep);
    if carry.len() > 4096 {
        carry.clear();
    }
    gets
}

impl CountingProxy {
    /// Starts the proxy on a thread (and runtime) of its own; it lives as long as the process.
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let counts = Counts::default();
        let c = counts.clone();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                url_tx
                    .send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(relay(client, upstream.clone(), c.clone()));
                }
            });
        });
        let url = url_rx.recv().unwrap();
        Self { url, counts }
    }
}

async fn relay(mut client: tokio::net::TcpStream, upstream: String, counts: Counts) {
    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut carry = Vec::new();
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let gets = count_requests(&buf[..n], &mut carry, &counts);
            if gets > 0 {
                let now = counts.in_flight.fetch_add(gets, Ordering::SeqCst) + gets;
                counts.max_in_flight.fetch_max(now, Ordering::SeqCst);
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Each response status line ends one request in flight on this connection.
            let done = String::from_utf8_lossy(&buf[..n])
                .matches("HTTP/1.1 ")
                .count();
            if done > 0 {
                let _ = counts
                    .in_flight
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                        Some(v.saturating_sub(done))
                    });
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}
