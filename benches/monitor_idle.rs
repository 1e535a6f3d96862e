//! Bench — idle cost of `wargdash monitor`: the real binary watching a real warg-server on
//! 127.0.0.1 with three peers (three more real monitors of the same registry, each peering the
//! first), default cadence (a cycle every 5 s, peers fetched each cycle). Over a window: CPU
//! time (utime + stime from /proc/PID/stat) as a share of one core, and peak RSS (VmHWM).
//! Target: < 1 % of a core and < 50 MB.
//!
//! Window: 60 s under `cargo bench --bench monitor_idle`, 3 s in smoke mode.

#[path = "support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Mon {
    home: tempfile::TempDir,
    port: u16,
    vkey: String,
    child: Option<Child>,
}

impl Mon {
    fn new() -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let vkey = support::wargdash(home.path(), &["witness", "vkey"], "")
            .trim()
            .to_string();
        Self {
            home,
            port: free_port(),
            vkey,
            child: None,
        }
    }

    fn peer(&self) -> String {
        format!("http://127.0.0.1:{}={}", self.port, self.vkey)
    }

    fn start(&mut self, registry: &str, peers: &[String]) {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut args = vec![
            "--registry".to_string(),
            registry.to_string(),
            "monitor".into(),
            "--listen".into(),
            listen,
            "--origin".into(),
            "bench.example/registry".into(),
        ];
        for p in peers {
            args.push("--peer".into());
            args.push(p.clone());
        }
        let child = Command::new(support::bin())
            .args(&args)
            .env("WARGDASH_HOME", self.home.path())
            .env("WARGDASH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn monitor");
        self.child = Some(child);
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn wait_cosigned(&self) {
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            let ok = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /checkpoint HTTP/1.0\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200")
            });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("monitor on {} never cosigned", self.port);
    }
}

impl Drop for Mon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn main() {
    println!(
        "monitor_idle ({}) on {}",
        support::mode_name(),
        support::machine()
    );
    let window = if support::full_mode() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(3)
    };
    // The server re-signs every 5 s, as a real warg-server does.
    let reg = support::Registry::start_with_interval(Duration::from_secs(5));
    let mut target = Mon::new();
    let mut peers: Vec<Mon> = (0..3).map(|_| Mon::new()).collect();
    for p in peers.iter_mut() {
        let back = target.peer();
        p.start(&reg.url, &[back]);
    }
    let peer_args: Vec<String> = peers.iter().map(Mon::peer).collect();
    target.start(&reg.url, &peer_args);
    target.wait_cosigned();
    for p in &peers {
        p.wait_cosigned();
    }
    // Let start-up settle.
    std::thread::sleep(Duration::from_secs(2));
    let pid = target.pid();
    let c0 = support::cpu_time(pid);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let cpu = support::cpu_time(pid).saturating_sub(c0);
    let elapsed = t0.elapsed();
    let hwm = support::status_kb(pid, "VmHWM");
    let rss = support::status_kb(pid, "VmRSS");
    let share = cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0;
    println!(
        "  monitor + 3 peers, idle: CPU {:.3} s over {:.0} s = {share:.2} % of a core; peak RSS {:.1} MiB (now {:.1} MiB)",
        cpu.as_secs_f64(),
        elapsed.as_secs_f64(),
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    if support::full_mode() {
        println!(
            "  target < 1 % of a core: {}; < 50 MB: {}",
            if share < 1.0 { "met" } else { "NOT met" },
            if (hwm as f64) * 1024.0 < 50e6 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}
