//! A tampering HTTP proxy on 127.0.0.1 in front of a real registry: each request is forwarded
//! (with reqwest) to a switchable upstream, and a test hook may rewrite the answer's body by
//! path. One request per connection (`Connection: close`), enough for the trust engine's client.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `(method, path, status, body) -> body`.
pub type Hook = Box<dyn Fn(&str, &str, u16, Vec<u8>) -> Vec<u8> + Send + Sync>;
/// `(method, path, status) -> status`: the status the proxy answers with (before the body hook
/// sees it).
pub type StatusHook = Box<dyn Fn(&str, &str, u16) -> u16 + Send + Sync>;

#[derive(Clone)]
pub struct TamperProxy {
    pub url: String,
    upstream: Arc<Mutex<String>>,
    hook: Arc<Mutex<Option<Hook>>>,
    status: Arc<Mutex<Option<StatusHook>>>,
}

impl TamperProxy {
    pub fn start(upstream: &str) -> Self {
        let upstream = Arc::new(Mutex::new(upstream.trim_end_matches('/').to_string()));
        let hook: Arc<Mutex<Option<Hook>>> = Arc::new(Mutex::new(None));
        let status: Arc<Mutex<Option<StatusHook>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = std::sync::mpsc::channel();
        let (u, h, st) = (upstream.clone(), hook.clone(), status.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                let http = reqwest::Client::new();
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(serve(sock, http.clone(), u.clone(), h.clone(), st.clone()));
                }
            });
        });
        Self {
            url: rx.recv().unwrap(),
            upstream,
            hook,
            status,
        }
    }

    /// Rewrites answers' statuses (e.g. a 404 turned into a 200 the body hook fills in).
    pub fn set_status_hook(&self, hook: StatusHook) {
        *self.status.lock().unwrap() = Some(hook);
    }

    pub fn set_upstream(&self, url: &str) {
        *self.upstream.lock().unwrap() = url.trim_end_matches('/').to_string();
    }

    pub fn set_hook(&self, hook: Hook) {
        *self.hook.lock().unwrap() = Some(hook);
    }

    pub fn clear_hook(&self) {
        *self.hook.lock().unwrap() = None;
    }
}

async fn serve(
    mut sock: tokio::net::TcpStream,
    http: reqwest::Client,
    upstream: Arc<Mutex<String>>,
    hook: Arc<Mutex<Option<Hook>>>,
    status_hook: Arc<Mutex<Option<StatusHook>>>,
) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("GET").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let mut len = 0usize;
    let mut ctype = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("content-type") {
                ctype = Some(v.trim().to_string());
            }
        }
    }
    while buf.len() < head_end + len {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
    let body = buf[head_end..head_end + len].to_vec();
    let base = upstream.lock().unwrap().clone();
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = http.request(m, format!("{base}{path}")).body(body);
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let Ok(resp) = req.send().await else {
        return; // drop the connection, as a dead upstream would
    };
    let mut status = resp.status().as_u16();
    if let Some(h) = status_hook.lock().unwrap().as_ref() {
        status = h(&method, &path, status);
    }
    let rtype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Ok(bytes) = resp.bytes().await else {
        return;
    };
    let mut out = bytes.to_vec();
    if let Some(h) = hook.lock().unwrap().as_ref() {
        out = h(&method, &path, status, out);
    }
    let mut resp_head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        out.len()
    );
    if let Some(t) = rtype {
        resp_head.push_str(&format!("content-type: {t}\r\n"));
    }
    resp_head.push_str("\r\n");
    let _ = sock.write_all(resp_head.as_bytes()).await;
    let _ = sock.write_all(&out).await;
    let _ = sock.shutdown().await;
}
