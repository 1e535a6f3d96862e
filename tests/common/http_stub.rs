//! A programmable HTTP/1.1 server on 127.0.0.1 for what the real warg-server cannot be made to
//! do: answer hostile text, refuse with 409, serve an upload URL on another origin, drop the
//! answer to a POST it forwarded. Every request it sees is recorded (method, path, headers,
//! body). [`forward`] sends a request on to a real registry, so a stub can sit in front of one
//! as a tampering proxy.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status, content type and body.
    Respond {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Close the connection without a byte of answer.
    Close,
}

impl Reply {
    pub fn json(status: u16, v: &serde_json::Value) -> Self {
        Self::Respond {
            status,
            content_type: "application/json".into(),
            body: v.to_string().into_bytes(),
        }
    }
}

pub type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

pub struct Stub {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Req>>>,
}

impl Stub {
    /// Starts the server on a thread of its own; one thread per connection.
    pub fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen: Arc<Mutex<Vec<Req>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (h, s) = (handler.clone(), seen2.clone());
                std::thread::spawn(move || serve(conn, &*h, &s));
            }
        });
        Self { url, seen }
    }

    /// Requests seen so far whose method and path start match.
    pub fn requests(&self, method: &str, path_prefix: &str) -> Vec<Req> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }
}

fn read_req(conn: &mut TcpStream) -> Option<Req> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Req {
        method,
        path,
        headers,
        body,
    })
}

fn serve(mut conn: TcpStream, handler: &Handler, seen: &Mutex<Vec<Req>>) {
    let Some(req) = read_req(&mut conn) else {
        return;
    };
    seen.lock().unwrap().push(req.clone());
    match handler(&req) {
        Reply::Respond {
            status,
            content_type,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
            let _ = conn.flush();
        }
        Reply::Close => {}
    }
}

/// Sends `req` on to `upstream` (`http://host:port`) and returns its answer as a [`Reply`]
/// (status, content type, body), `Connection: close`.
pub fn forward(upstream: &str, req: &Req) -> Reply {
    let addr = upstream.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = TcpStream::connect(addr).expect("upstream");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        req.method, req.path
    );
    for (k, v) in &req.headers {
        if !["host", "connection", "content-length"].contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
    conn.write_all(head.as_bytes()).expect("write upstream");
    conn.write_all(&req.body).expect("write upstream");
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).expect("read upstream");
    let head_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(resp.len());
    let head = String::from_utf8_lossy(&resp[..head_end]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let content_type = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "application/json".into());
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let raw = resp[head_end..].to_vec();
    let body = if chunked { dechunk(&raw) } else { raw };
    Reply::Respond {
        status,
        content_type,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(p) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = p + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
}
