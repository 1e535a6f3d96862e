//! The `wargdash` dashboard in a real pseudo-terminal: a detached tmux session of its own
//! (private socket), driven with `send-keys` and read with `capture-pane`. Killed on drop.
#![allow(dead_code)]

use crate::common::{bin, Wd};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    pub dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `wargdash ARGS` in a detached 120×35 tmux session. After it exits, the shell
    /// records its exit code and the tty settings and waits, so the pane can be inspected.
    pub fn start(wd: &Wd, args: &str, extra_env: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "{env} {bin} {args}; echo $? > {d}/exit; stty -a > {d}/stty; echo AFTER-EXIT; sleep 120",
            env = Self::env(wd, extra_env),
            bin = bin(),
            d = dir.path().display(),
        );
        Self::session(dir, &script)
    }

    /// Starts `exec wargdash ARGS` so the pane's process *is* the dashboard (for `kill -9`).
    /// The session ends with the process.
    pub fn start_exec(wd: &Wd, args: &str, extra_env: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "exec {env} {bin} {args}",
            env = Self::env(wd, extra_env),
            bin = bin()
        );
        Self::session(dir, &script)
    }

    fn env(wd: &Wd, extra_env: &str) -> String {
        let registry = wd
            .registry
            .as_deref()
            .map(|r| format!("WARGDASH_REGISTRY={r}"))
            .unwrap_or_default();
        format!(
            "env -u WARGDASH_REGISTRY -u WARGDASH_KEY -u WARGDASH_TOKEN WARGDASH_HOME={home} {registry} NO_COLOR=1 TERM=xterm-256color {extra_env}",
            home = wd.home.path().display(),
        )
    }

    fn session(dir: tempfile::TempDir, script: &str) -> Self {
        let socket = format!(
            "wargdash-test-{}-{}",
            std::process::id(),
            dir.path().file_name().unwrap().to_string_lossy()
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "35",
                "sh",
                "-c",
                script,
            ])
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(ok.success());
        Self { socket, dir }
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// The visible screen plus everything scrolled off it.
    pub fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-S", "-"])
    }

    /// The pid of the pane's process (the dashboard itself with [`Tmux::start_exec`]).
    pub fn pane_pid(&self) -> Option<u32> {
        self.tmux(&["list-panes", "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .ok()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", k]);
            std::thread::sleep(Duration::from_millis(120));
        }
    }

    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn wait_for(&self, what: &str, secs: u64) -> String {
        self.wait_until(&format!("{what:?}"), secs, |s| s.contains(what))
    }

    pub fn wait_until(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_gone(&self, what: &str, secs: u64) {
        self.wait_until(&format!("{what:?} to go"), secs, |s| !s.contains(what));
    }

    pub fn exit_file(&self) -> PathBuf {
        self.dir.path().join("exit")
    }

    /// Waits for the program to exit and checks the terminal is back to normal.
    pub fn assert_exited_cleanly(&self, code: i32) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.exit_file().exists() {
            assert!(
                Instant::now() < deadline,
                "wargdash did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        let got: i32 = std::fs::read_to_string(self.exit_file())
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(got, code, "exit code; screen:\n{}", self.screen());
        let stty = std::fs::read_to_string(self.dir.path().join("stty")).unwrap();
        assert!(
            stty.contains(" icanon") && !stty.contains("-icanon"),
            "raw mode left on: {stty}"
        );
        assert!(
            stty.contains(" echo ") && !stty.contains("-echo "),
            "echo left off: {stty}"
        );
        let flags = self.tmux(&["display-message", "-p", "#{alternate_on} #{cursor_flag}"]);
        assert_eq!(
            flags.trim(),
            "0 1",
            "alternate screen left and cursor shown"
        );
        assert!(self.screen().contains("AFTER-EXIT"));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
