//! A counting TCP proxy on 127.0.0.1 in front of a real registry: forwards bytes both ways and
//! counts the HTTP requests (by request head, bodies skipped by their length) that pass through.
#![allow(dead_code)]

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

/// Counts the requests in a client's byte stream: each request head (up to the blank line) is
/// one request, and its `Content-Length` body is skipped (a POST body does not end in a line
/// break, so reading line by line would glue the next request line to it and miss it).
/// `carry` holds what is not parsed yet; `skip` the body bytes still to pass over.
fn count_requests(buf: &[u8], carry: &mut Vec<u8>, skip: &mut usize, counts: &Counts) -> usize {
    carry.extend_from_slice(buf);
    let mut gets = 0;
    loop {
        // Pass over the body of the request before.
        let n = (*skip).min(carry.len());
        carry.drain(..n);
        *skip -= n;
        if *skip > 0 {
            return gets;
        }
        let Some(end) = carry.windows(4).position(|w| w == b"\r\n\r\n") else {
            if carry.len() > 64 * 1024 {
                carry.clear();
            }
            return gets;
        };
        let head = String::from_utf8_lossy(&carry[..end]).to_string();
        carry.drain(..end + 4);
        let line = head.lines().next().unwrap_or_default();
        if ["GET /", "POST /", "PUT /", "DELETE /", "HEAD /"]
            .iter()
            .any(|m| line.starts_with(m))
        {
            counts.total.fetch_add(1, Ordering::SeqCst);
            if line.starts_with("GET /v1/package/") && line.contains("/record/") {
                counts.record_gets.fetch_add(1, Ordering::SeqCst);
                gets += 1;
            }
        }
        *skip = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
    }
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
        let mut skip = 0usize;
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let gets = count_requests(&buf[..n], &mut carry, &mut skip, &counts);
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
