//! What an upload target the registry hands out may be. The registry chooses the URL, the
//! method and the headers of an upload, so without rules it could make wargdash send requests
//! anywhere the operator's machine can reach (a blind SSRF: cloud metadata at 169.254.169.254,
//! services on loopback or the private network). The rules:
//!
//! - the method is `POST` or `PUT`;
//! - the scheme is `http` or `https`, and `https` whenever the registry itself is `https`;
//! - only these headers: `content-type`, `content-length`, `content-md5`, `content-encoding`,
//!   `content-disposition`, `cache-control`, `expires`, and the object stores' signing headers
//!   `x-amz-*`, `x-goog-*`, `x-ms-*`, `x-oss-*` (no `authorization`, `cookie`, `host`, proxy or
//!   hop-by-hop header); anything else refuses the upload;
//! - no loopback, link-local, private (RFC 1918, unique-local, CGNAT) or unspecified address,
//!   unless the registry's own address is of that same kind (a registry on loopback may upload
//!   to loopback; one on a private network to that network). Host names are checked when they
//!   are resolved for the connection itself ([`Guard`]), so a name cannot resolve to one
//!   address for the check and another for the request;
//! - redirects are not followed (the upload client has none).
//!
//! A refusal says what was refused and why ([`ApiError::Refused`]).

use super::model::UploadEndpoint;
use super::ApiError;

/// Whether `url` names this machine (127.0.0.0/8, ::1, `localhost`, `*.localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => {
            a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}
use reqwest::Method;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use url::Url;

/// What kind of address an IP is, for the upload rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anywhere on the internet.
    Public = 0,
    /// This machine (127.0.0.0/8, ::1, 0.0.0.0, ::).
    Loopback = 1,
    /// Link-local (169.254.0.0/16 — cloud metadata —, fe80::/10).
    LinkLocal = 2,
    /// A private network (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    Private = 4,
}

impl Reach {
    fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::LinkLocal => "a link-local address (cloud metadata services live there)",
            Self::Private => "a private-network address",
        }
    }
}

/// The kind of `ip` (IPv4-mapped IPv6 addresses count as their IPv4 address).
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() || a.is_unspecified() {
                Reach::Loopback
            } else if a.is_link_local() {
                Reach::LinkLocal
            } else if a.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Reach::Private
            } else {
                Reach::Public
            }
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return reach(IpAddr::V4(v4));
            }
            let seg = a.segments();
            if a.is_loopback() || a.is_unspecified() {
                Reach::Loopback
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Reach::LinkLocal
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Reach::Private
            } else {
                Reach::Public
            }
        }
    }
}

/// The DNS resolver of the upload client: drops every resolved address whose kind is not
/// public and not allowed (the kinds of the registry's own addresses), and fails when none is
/// left.
#[derive(Debug, Default)]
pub struct Guard {
    allowed: AtomicU8,
}

impl Guard {
    /// Allows the kinds in the bit set `mask` (see [`Reach`]).
    pub fn allow(&self, mask: u8) {
        self.allowed.store(mask, Ordering::SeqCst);
    }

    fn permits(mask: u8, r: Reach) -> bool {
        r == Reach::Public || mask & (r as u8) != 0
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let mask = self.allowed.load(Ordering::SeqCst);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| Guard::permits(mask, reach(a.ip())))
                .collect();
            if kept.is_empty() {
                let what = addrs
                    .first()
                    .map(|a| reach(a.ip()).describe())
                    .unwrap_or("no address");
                return Err(format!(
                    "refusing the upload host {}: it resolves to {what}, and the registry is not on such a network",
                    crate::text::clean(&host)
                )
                .into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An upload the rules accept.
#[derive(Debug)]
pub struct Checked {
    pub method: Method,
    pub headers: Vec<(String, String)>,
    /// The address kinds the upload may reach besides public ones (a [`Reach`] bit set).
    pub allow: u8,
}

/// Whether the registry may ask for header `name` on an upload.
pub fn header_allowed(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "content-type"
            | "content-length"
            | "content-md5"
            | "content-encoding"
            | "content-disposition"
            | "cache-control"
            | "expires"
    ) || ["x-amz-", "x-goog-", "x-ms-", "x-oss-"]
        .iter()
        .any(|p| n.starts_with(p))
}

/// The kinds of address the registry at `base` has (its literal IP, `localhost`, or what its
/// name resolves to), as a [`Reach`] bit set.
async fn registry_reach(base: &Url) -> u8 {
    let port = base.port_or_known_default().unwrap_or(443);
    match base.host() {
        Some(url::Host::Ipv4(a)) => reach(IpAddr::V4(a)) as u8,
        Some(url::Host::Ipv6(a)) => reach(IpAddr::V6(a)) as u8,
        Some(url::Host::Domain(_)) if is_loopback(base) => Reach::Loopback as u8,
        Some(url::Host::Domain(d)) => match tokio::net::lookup_host((d, port)).await {
            Ok(addrs) => addrs.fold(0, |m, a| m | reach(a.ip()) as u8),
            Err(_) => 0,
        },
        None => 0,
    }
}

/// Checks the upload `endpoint` (whose URL, joined to the registry base, is `url`) against
/// the rules of this module.
pub async fn check(base: &Url, endpoint: &UploadEndpoint, url: &Url) -> Result<Checked, ApiError> {
    let shown = crate::text::clean(url.as_str()).into_owned();
    let refuse = |why: String| ApiError::Refused {
        what: format!("the upload to {shown} the registry asked for"),
        why,
    };
    let method = match endpoint.method.to_ascii_uppercase().as_str() {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        other => {
            return Err(refuse(format!(
                "method `{}` (uploads are POST or PUT)",
                crate::text::clean(other)
            )))
        }
    };
    match (base.scheme(), url.scheme()) {
        (_, "https") | ("http", "http") => {}
        ("https", "http") => {
            return Err(refuse(
                "plain http while the registry is https (uploads stay on https)".into(),
            ))
        }
        (_, other) => {
            return Err(refuse(format!(
                "scheme `{}` (uploads are http or https)",
                crate::text::clean(other)
            )))
        }
    }
    let mut headers = Vec::with_capacity(endpoint.headers.len());
    for (k, v) in &endpoint.headers {
        if !header_allowed(k) {
            return Err(refuse(format!(
                "header `{}` (allowed: content-type, content-length, content-md5, content-encoding, content-disposition, cache-control, expires, x-amz-*, x-goog-*, x-ms-*, x-oss-*)",
                crate::text::clean(k)
            )));
        }
        headers.push((k.clone(), v.clone()));
    }
    let allow = registry_reach(base).await & !(Reach::Public as u8);
    let literal = match url.host() {
        Some(url::Host::Ipv4(a)) => Some(reach(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => Some(reach(IpAddr::V6(a))),
        Some(url::Host::Domain(_)) if is_loopback(url) => Some(Reach::Loopback),
        // Other names are checked as they resolve (`Guard`).
        Some(url::Host::Domain(_)) => None,
        None => return Err(refuse("a URL without a host".into())),
    };
    if let Some(r) = literal {
        if !Guard::permits(allow, r) {
            return Err(refuse(format!(
                "{} is {}, and the registry is not on such a network",
                crate::text::clean(url.host_str().unwrap_or_default()),
                r.describe()
            )));
        }
    }
    Ok(Checked {
        method,
        headers,
        allow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_kinds() {
        let r = |s: &str| reach(s.parse().unwrap());
        assert_eq!(r("169.254.169.254"), Reach::LinkLocal);
        assert_eq!(r("127.0.0.1"), Reach::Loopback);
        assert_eq!(r("0.0.0.0"), Reach::Loopback);
        assert_eq!(r("10.1.2.3"), Reach::Private);
        assert_eq!(r("100.64.0.1"), Reach::Private);
        assert_eq!(r("::ffff:169.254.169.254"), Reach::LinkLocal);
        assert_eq!(r("fe80::1"), Reach::LinkLocal);
        assert_eq!(r("fd00::1"), Reach::Private);
        assert_eq!(r("93.184.216.34"), Reach::Public);
        assert!(header_allowed("X-Amz-Date") && header_allowed("Content-Type"));
        assert!(!header_allowed("Authorization") && !header_allowed("Host"));
    }
}
