//! The `wargdash` binary against a misbehaving registry: a real loopback HTTP server that
//! refuses, stalls, drips, resets, truncates, floods, redirects forever or answers nonsense.
//! Each fault is driven through `status` and `poll --once` (JSON and table), and must give a
//! specific message, the documented exit code, a bounded run time, and leave the store intact.

mod common;
#[path = "common/fault_server.rs"]
mod fault_server;

use common::{Run, Wd};
use fault_server::{Fault, FaultServer, HUGE_BODY};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wargdash::exit;
use wargdash::registry::client::DEFAULT_MAX_BODY;

/// Every faulty run must be over well before this, thanks to `--request-timeout 2`.
const BOUND: Duration = Duration::from_secs(10);

fn log_id() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

fn rec_id() -> String {
    format!("sha256:{}", "cd".repeat(32))
}

/// The URL the client asks for `rec` (what `ApiError` messages name).
fn record_url(base: &str, rec: &str) -> String {
    format!("{base}/v1/package/{}/record/{rec}", log_id())
}

/// What every surface must report for a fault.
struct Expect {
    code: i32,
    /// Substrings the error message must contain, in this order.
    says: Vec<String>,
}

impl Expect {
    fn new(code: i32, says: &[&str]) -> Self {
        Self {
            code,
            says: says.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn timeout() -> Self {
        Self::new(exit::UNREACHABLE, &["did not answer within 2s"])
    }

    fn assert_in(&self, text: &str, what: &str) {
        // Whatever the registry sent, it must not reach the terminal raw (escape sequences).
        assert!(
            !text.contains('\x1b'),
            "{what}: a raw escape character got through: {text:?}"
        );
        let mut rest = text;
        for s in &self.says {
            let at = rest
                .find(s.as_str())
                .unwrap_or_else(|| panic!("{what}: expected {s:?} in {text:?}"));
            rest = &rest[at + s.len()..];
        }
    }
}

/// Runs wargdash with `--request-timeout 2`, asserting the time bound.
fn timed(wd: &Wd, args: &[&str]) -> Run {
    let mut all = vec!["--request-timeout", "2"];
    all.extend_from_slice(args);
    let start = Instant::now();
    let r = wd.run(&all);
    let took = start.elapsed();
    assert!(took < BOUND, "wargdash {all:?} took {took:?}: {r:?}");
    r
}

fn track(wd: &Wd, rec: &str) {
    let r = wd.ok(&["track", "add", &log_id(), rec], 0);
    assert!(r.stdout.contains("tracking 1 new record(s)"), "{r:?}");
}

fn json_lines(r: &Run) -> Vec<serde_json::Value> {
    r.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?} in {r:?}"))
        })
        .collect()
}

/// `status LOG REC`: nothing on stdout, `error: <message>` on stderr, the fault's exit code.
fn check_status(url: &str, expect: &Expect) {
    let wd = Wd::new(Some(url));
    let r = timed(&wd, &["status", &log_id(), &rec_id()]);
    assert_eq!(r.code, expect.code, "status: {r:?}");
    assert!(
        r.stdout.is_empty(),
        "status printed a result for a fault: {r:?}"
    );
    assert!(r.stderr.starts_with("error: "), "{r:?}");
    expect.assert_in(&r.stderr, "status stderr");

    let r = timed(&wd, &["--json", "status", &log_id(), &rec_id()]);
    assert_eq!(r.code, expect.code, "status --json: {r:?}");
    assert!(
        r.stdout.is_empty(),
        "status --json printed a result for a fault: {r:?}"
    );
    expect.assert_in(&r.stderr, "status --json stderr");
}

/// A tracked record whose state is known (`processing`, as an earlier poll of this registry
/// recorded it) is polled against the fault with `--json`: the line says `error`, and the store
/// keeps the record, its last good state and response, and the error text.
fn check_poll_json(url: &str, expect: &Expect) {
    let wd = Wd::new(Some(url));
    track(&wd, &rec_id());
    {
        use wargdash::tracker::store::{now_ms, PollOutcome, PolledState, Store};
        let mut store = Store::open(&wd.home.path().join("data").join("wargdash.db"), url).unwrap();
        let t = &store.list().unwrap()[0];
        let outcome = PollOutcome {
            log_id: t.log_id,
            record_id: t.record_id,
            at: now_ms(),
            result: Ok(PolledState {
                state: "processing".into(),
                detail: String::new(),
                response: serde_json::from_str(&fault_server::record_json(&rec_id())).unwrap(),
                missing: None,
            }),
        };
        store.record_polls(&[outcome]).unwrap();
    }

    let r = timed(&wd, &["--json", "poll", "--once"]);
    assert_eq!(r.code, expect.code, "poll --once --json: {r:?}");
    let lines = json_lines(&r);
    assert_eq!(lines.len(), 1, "{r:?}");
    let line = &lines[0];
    assert_eq!(line["state"], "error", "{line}");
    assert_eq!(line["logId"], log_id().as_str(), "{line}");
    assert_eq!(line["recordId"], rec_id().as_str(), "{line}");
    assert!(
        line.get("response").is_none(),
        "a fault must not pass for a response: {line}"
    );
    let err = line["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {line}"));
    expect.assert_in(err, "poll --once --json error");

    let list = wd.ok(&["--json", "track", "list"], 0);
    let tracked = json_lines(&list);
    assert_eq!(
        tracked.len(),
        1,
        "the record must still be tracked: {list:?}"
    );
    let t = &tracked[0];
    assert_eq!(t["logId"], log_id().as_str(), "{t}");
    assert_eq!(t["recordId"], rec_id().as_str(), "{t}");
    assert_eq!(
        t["state"], "processing",
        "the last good state must survive the fault: {t}"
    );
    assert_eq!(
        t["response"]["recordId"],
        rec_id().as_str(),
        "the last good response must survive: {t}"
    );
    assert_eq!(
        t["error"].as_str(),
        Some(err),
        "the store keeps the error text: {t}"
    );
}

/// A never-polled record polled against the fault, table output: the STATE column says
/// `error` and DETAIL carries the message; `track list` still shows the record.
fn check_poll_table(url: &str, expect: &Expect) {
    let wd = Wd::new(Some(url));
    track(&wd, &rec_id());
    let r = timed(&wd, &["poll", "--once"]);
    assert_eq!(r.code, expect.code, "poll --once: {r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "header and one row: {r:?}");
    assert!(lines[0].starts_with("PACKAGE"), "{r:?}");
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cols[1], "ab".repeat(6), "{r:?}");
    assert_eq!(cols[2], "cd".repeat(6), "{r:?}");
    assert_eq!(cols[3], "error", "STATE column: {r:?}");
    expect.assert_in(lines[1], "poll --once row");

    let list = wd.ok(&["track", "list"], 0);
    let rows: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "the record must still be tracked: {list:?}");
    let cols: Vec<&str> = rows[1].split_whitespace().collect();
    assert_eq!(cols[2], "cd".repeat(6), "{list:?}");
    assert_eq!(cols[3], "unknown", "{list:?}");
    expect.assert_in(rows[1], "track list row");
}

/// Drives every surface against `url` concurrently (each in its own WARGDASH_HOME).
fn check(url: &str, expect: &Expect) {
    std::thread::scope(|s| {
        let a = s.spawn(|| check_status(url, expect));
        let b = s.spawn(|| check_poll_json(url, expect));
        let c = s.spawn(|| check_poll_table(url, expect));
        for (name, h) in [("status", a), ("poll --json", b), ("poll table", c)] {
            if let Err(e) = h.join() {
                eprintln!("{name} failed");
                std::panic::resume_unwind(e);
            }
        }
    });
}

fn check_fault(fault: Fault, expect: impl FnOnce(&str) -> Expect) -> FaultServer {
    let server = FaultServer::start(fault);
    let expect = expect(&server.url);
    check(&server.url, &expect);
    server
}

#[test]
fn control_a_healthy_registry_passes_the_same_checks() {
    let server = FaultServer::start(Fault::Healthy);
    let wd = Wd::new(Some(&server.url));
    let r = timed(&wd, &["status", &log_id(), &rec_id()]);
    assert_eq!(r.code, exit::PENDING, "{r:?}");
    assert_eq!(r.stdout.trim(), "processing", "{r:?}");
    track(&wd, &rec_id());
    let r = timed(&wd, &["--json", "poll", "--once"]);
    assert_eq!(r.code, exit::PENDING, "{r:?}");
    let line = &json_lines(&r)[0];
    assert_eq!(line["state"], "processing", "{line}");
    assert_eq!(line["response"]["recordId"], rec_id().as_str(), "{line}");
    assert!(line.get("error").is_none(), "{line}");
    assert!(server.stats.requests.load(Ordering::SeqCst) >= 2);
}

#[test]
fn connection_refused_is_unreachable() {
    let url = FaultServer::refused_url();
    let expect = Expect::new(
        exit::UNREACHABLE,
        &[
            &format!("registry unreachable at {}: ", record_url(&url, &rec_id())),
            "Connection refused",
        ],
    );
    check(&url, &expect);
}

#[test]
fn accepting_and_never_answering_times_out() {
    let s = check_fault(Fault::Silent, |_| Expect::timeout());
    assert!(
        s.stats.requests.load(Ordering::SeqCst) >= 4,
        "the requests must have reached the server"
    );
}

#[test]
fn closing_without_an_answer_is_a_broken_connection() {
    check_fault(Fault::CloseWithoutAnswer, |url| {
        Expect::new(
            exit::UNREACHABLE,
            &[
                &format!("connection to {} broke: ", record_url(url, &rec_id())),
                "connection closed before message completed",
            ],
        )
    });
}

#[test]
fn an_answer_after_30s_is_abandoned_after_the_request_timeout() {
    check_fault(Fault::Delay(Duration::from_secs(30)), |url| {
        Expect::new(
            exit::UNREACHABLE,
            &[&format!(
                "registry at {} did not answer within 2s",
                record_url(url, &rec_id())
            )],
        )
    });
}

#[test]
fn a_body_dripping_one_byte_per_second_times_out() {
    check_fault(Fault::DripBody, |_| Expect::timeout());
}

#[test]
fn headers_dripping_one_byte_per_second_time_out() {
    check_fault(Fault::DripHeaders, |_| Expect::timeout());
}

#[test]
fn a_reset_mid_body_is_a_broken_connection() {
    check_fault(Fault::ResetMidBody, |url| {
        Expect::new(
            exit::UNREACHABLE,
            &[
                &format!("connection to {} broke: ", record_url(url, &rec_id())),
                "Connection reset by peer",
            ],
        )
    });
}

fn check_html(code: u16) {
    check_fault(Fault::Html(code), |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &[
                &format!("the registry answered HTTP {code}: \"<html>"),
                &format!("<title>{code} "),
            ],
        )
    });
}

#[test]
fn an_html_500_page_is_a_registry_fault() {
    check_html(500);
}

#[test]
fn an_html_502_page_is_a_registry_fault() {
    check_html(502);
}

#[test]
fn an_html_503_page_is_a_registry_fault() {
    check_html(503);
}

#[test]
fn garbage_with_200_is_an_unreadable_body() {
    check_fault(Fault::Garbage, |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &["the registry answered 200 with a body wargdash cannot read (the record status is not JSON: ", "GARBAGE <<< this is not JSON", "\\u{1b}[31m"],
        )
    });
}

#[test]
fn json_of_the_wrong_shape_is_an_unreadable_body() {
    check_fault(Fault::WrongShape, |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &[
                "the registry answered 200 with a body wargdash cannot read (the record status has the wrong shape: ",
                "missing field `recordId`",
                r#"{\"status\":\"ok\",\"items\":[1,2,3]}"#,
            ],
        )
    });
}

#[test]
fn a_truncated_body_is_an_unreadable_body() {
    check_fault(Fault::Truncated, |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &[
                "the registry answered 200 with a body wargdash cannot read (the body was cut off after 40 bytes: ",
                "end of file before message length reached",
                "body starts: \"{\\\"recordId\\\"",
            ],
        )
    });
}

#[test]
fn a_declared_100mb_body_is_refused_before_reading() {
    let s = check_fault(Fault::Huge { declared: true }, |url| {
        let limit = format!(
            "the answer from {} exceeded the {DEFAULT_MAX_BODY}-byte size limit",
            record_url(url, &rec_id())
        );
        Expect::new(exit::REGISTRY_FAULT, &[&limit])
    });
    let sent = s.stats.max_body_sent.load(Ordering::SeqCst);
    assert!(
        sent < HUGE_BODY / 2,
        "the client read on after the declared length: {sent} bytes sent"
    );
}

#[test]
fn an_undeclared_100mb_body_is_cut_off_at_the_cap() {
    let s = check_fault(Fault::Huge { declared: false }, |url| {
        let limit = format!(
            "the answer from {} exceeded the {DEFAULT_MAX_BODY}-byte size limit",
            record_url(url, &rec_id())
        );
        Expect::new(exit::REGISTRY_FAULT, &[&limit])
    });
    // The client stops at 4 MiB; the rest is whatever the loopback socket buffers took in.
    let sent = s.stats.max_body_sent.load(Ordering::SeqCst);
    assert!(
        sent >= DEFAULT_MAX_BODY as u64,
        "the cap was hit without reading up to it: {sent}"
    );
    assert!(
        sent < HUGE_BODY / 2,
        "the client read far past its cap: {sent} of {HUGE_BODY} bytes sent"
    );
}

#[test]
fn a_redirect_loop_is_a_registry_fault() {
    let s = check_fault(Fault::RedirectLoop, |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &["redirect loop", "too many redirects"],
        )
    });
    // 4 faulty runs of wargdash; each follows a few redirects, then gives up (`poll --once`
    // first tries the checkpoint for the verified ledger, and `track list` asks for package
    // names, which loop the same way: at most 6 requests per call).
    let requests = s.stats.requests.load(Ordering::SeqCst);
    assert!(
        (4 * 2..=4 * 20).contains(&requests),
        "{requests} requests for 4 runs"
    );
}

#[test]
fn a_record_with_another_record_id_is_a_misbehaving_registry() {
    let other = format!("sha256:{}", "ef".repeat(32));
    check_fault(Fault::OtherRecord(other.clone()), |_| {
        Expect::new(
            exit::REGISTRY_FAULT,
            &[&format!(
                "the registry is misbehaving: asked for record {} but it answered about {other}",
                rec_id()
            )],
        )
    });
}

#[test]
fn poll_once_exits_with_the_worst_records_code_and_keeps_the_healthy_ones() {
    let bad = format!("sha256:{}", "99".repeat(32));
    let server = FaultServer::start(Fault::Only {
        record: bad.clone(),
        fault: Box::new(Fault::Silent),
    });
    let wd = Wd::new(Some(&server.url));
    track(&wd, &rec_id());
    track(&wd, &bad);
    let r = timed(&wd, &["--json", "poll", "--once", "--concurrency", "2"]);
    assert_eq!(r.code, exit::UNREACHABLE, "{r:?}");
    let lines = json_lines(&r);
    assert_eq!(lines.len(), 2, "{r:?}");
    let by_id = |id: &str| {
        lines
            .iter()
            .find(|l| l["recordId"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {r:?}"))
    };
    assert_eq!(by_id(&rec_id())["state"], "processing", "{r:?}");
    assert_eq!(by_id(&bad)["state"], "error", "{r:?}");
    Expect::timeout().assert_in(
        by_id(&bad)["error"].as_str().unwrap_or_default(),
        "the stalled record",
    );

    // Healthy (10) vs garbage (21): still the worst.
    server.set_fault(Fault::Only {
        record: bad.clone(),
        fault: Box::new(Fault::Garbage),
    });
    let r = timed(&wd, &["poll", "--once"]);
    assert_eq!(r.code, exit::REGISTRY_FAULT, "{r:?}");

    let list = json_lines(&wd.ok(&["--json", "track", "list"], 0));
    assert_eq!(list.len(), 2, "{list:?}");
    for t in &list {
        if t["recordId"] == bad.as_str() {
            assert!(
                t["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("cannot read"),
                "{t}"
            );
            assert!(t["state"].is_null(), "{t}");
        } else {
            assert_eq!(t["state"], "processing", "{t}");
            assert!(t["error"].is_null(), "{t}");
        }
    }
}

#[test]
fn a_healthy_poll_after_a_fault_clears_the_error() {
    let server = FaultServer::start(Fault::Html(503));
    let wd = Wd::new(Some(&server.url));
    track(&wd, &rec_id());
    timed(&wd, &["poll", "--once"]);
    let t = &json_lines(&wd.ok(&["--json", "track", "list"], 0))[0];
    assert!(
        t["error"].as_str().unwrap_or_default().contains("HTTP 503"),
        "{t}"
    );
    // The same registry recovers.
    server.set_fault(Fault::Healthy);
    let r = timed(&wd, &["poll", "--once"]);
    assert_eq!(r.code, exit::PENDING, "{r:?}");
    let t = &json_lines(&wd.ok(&["--json", "track", "list"], 0))[0];
    assert!(t["error"].is_null(), "{t}");
    assert_eq!(t["state"], "processing", "{t}");
}
