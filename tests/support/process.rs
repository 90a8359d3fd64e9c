//! Helpers for tests that run the real `warden` binary as a process.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `warden` binary under test.
pub fn warden() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    command
        .env("RUST_BACKTRACE", "0")
        .env_remove("WARDEN_ADMIN_TOKEN");
    command
}

/// A running `warden run` with its admin address.
pub struct Running {
    pub child: Child,
    pub base: String,
    pub lines: mpsc::Receiver<String>,
    /// Everything it wrote to stderr so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Its working directory (the default config's store lives there).
    pub dir: tempfile::TempDir,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        wait_exit(&mut self.child, Duration::from_secs(15)).expect("warden exits after SIGTERM")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait for `child` to exit, up to `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Start `warden run` with `args` (and `--admin 127.0.0.1:0`) in a fresh
/// working directory, wait for its address.
pub fn run(args: &[&str], token: Option<&str>) -> Running {
    run_at(args, token, "127.0.0.1:0")
}

/// As [`run`], with the admin server on `admin`.
pub fn run_at(args: &[&str], token: Option<&str>, admin: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut command = warden();
    command
        .current_dir(dir.path())
        .arg("run")
        .args(args)
        .args(["--admin", admin]);
    if let Some(token) = token {
        command.env("WARDEN_ADMIN_TOKEN", token);
    }
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // From here on, `Running`'s drop kills and reaps the child whatever happens.
    let (tx, lines) = mpsc::channel();
    let mut running = Running {
        child,
        base: String::new(),
        lines,
        stderr: std::sync::Arc::new(std::sync::Mutex::new(String::new())),
        dir,
    };
    let stdout = running.child.stdout.take().unwrap();
    let stderr_pipe = running.child.stderr.take().unwrap();
    let sink = std::sync::Arc::clone(&running.stderr);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = running
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("warden run printed its admin address");
        if let Some(addr) = line.strip_prefix("warden: admin API on ") {
            running.base = addr.to_string();
            return running;
        }
    }
}

/// An HTTP agent that reports 4xx/5xx as responses, not errors.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// GET `url` as JSON.
pub fn get_json(url: &str) -> (u16, serde_json::Value) {
    let mut response = http().get(url).call().unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// POST to `url` with an optional bearer token.
pub fn post(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = http().post(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.send_empty().unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// Poll `check` every 10 ms until it holds or `within` passes.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
