//! The system under drill: `warden run` as a child process of the drill,
//! its config (written from the one drilled, placements flipped on request,
//! every store in the drill's own directory), its start, its death, and
//! what it holds (descriptors, children, shared memory, memory).

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

/// How the drilled config is changed before the drill runs it.
#[derive(Clone, Debug, Default)]
pub struct Rewrite {
    /// Swap `process` and `inprocess` for every actor.
    pub flip: bool,
    /// Set the supervisor's intensity (max restarts, within seconds).
    pub intensity: Option<(u32, u32)>,
    /// Set every compositor's `size`.
    pub size: Option<String>,
    /// Restart at once, without the supervisor's backoff: a kill storm
    /// can then exceed any intensity (with backoff, N actors restart at
    /// most N times per `backoff_max_ms`, which may sit under it).
    pub no_backoff: bool,
    /// Put every child actor on nodes `a` and `b` of the cluster at this
    /// NATS URL (`placement = "remote"`, each actor's first node in turn).
    pub remote: Option<String>,
}

/// One actor of the rewritten config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// `process`, `inprocess` or `remote`.
    pub placement: String,
    /// Its store directory, if it is a store.
    pub data: Option<PathBuf>,
    /// Its heartbeat period (ms), its own or the supervisor's.
    pub heartbeat_ms: u64,
    /// A process actor that keeps a standby child (`standby`, default true).
    pub standby: bool,
}

/// A config ready to run, and what the drill needs to know about it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The TOML to run.
    pub text: String,
    /// The actors in config order.
    pub actors: Vec<ActorInfo>,
    /// Max restarts within `within_secs` (the drill paces its faults by it).
    pub max_restarts: u32,
    /// The intensity window.
    pub within_secs: f64,
    /// Heartbeat period and misses (the hang bound).
    pub heartbeat_ms: u64,
    /// Misses before a hang is declared.
    pub heartbeat_misses: u32,
    /// Every compositor's frame period (ms), by name.
    pub frame_period_ms: Option<f64>,
    /// The admin token the config sets, if it sets one.
    pub token: Option<String>,
    /// Memory the kernel may fill with caches by design (KiB): each
    /// in-process image decoder's `cache_bytes` (default 256 MiB), each
    /// in-process store's page cache (64 MiB).
    pub cache_kib: u64,
}

fn table<'a>(root: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    if !root.get(key).is_some_and(toml::Value::is_table) {
        root.insert(key.into(), toml::Value::Table(toml::Table::new()));
    }
    match root.get_mut(key) {
        Some(toml::Value::Table(t)) => t,
        _ => unreachable!("inserted above"),
    }
}

/// Rewrite `text` (a Warden config) to run under the drill: the admin
/// server on `addr`, every store's data under `dir`, and `rewrite` applied.
pub fn prepare(text: &str, dir: &Path, addr: &str, rewrite: &Rewrite) -> anyhow::Result<Prepared> {
    let mut root: toml::Table = toml::from_str(text).context("the drilled config is not TOML")?;
    let kernel = table(&mut root, "kernel");
    kernel.insert("admin_addr".into(), addr.into());
    let token = kernel
        .get("admin_token")
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let supervisor = table(&mut root, "supervisor");
    if let Some((max, within)) = rewrite.intensity {
        supervisor.insert("max_restarts".into(), i64::from(max).into());
        supervisor.insert("within_secs".into(), i64::from(within).into());
    }
    if rewrite.no_backoff {
        supervisor.insert("backoff_initial_ms".into(), 0.into());
        supervisor.insert("backoff_max_ms".into(), 0.into());
    }
    let int = |t: &toml::Table, key: &str, default: i64| {
        t.get(key)
            .and_then(toml::Value::as_integer)
            .unwrap_or(default)
    };
    let max_restarts = int(supervisor, "max_restarts", 3) as u32;
    let within_secs = supervisor
        .get("within_secs")
        .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        .unwrap_or(5.0);
    let heartbeat_ms = int(supervisor, "heartbeat_ms", 1000) as u64;
    let heartbeat_misses = int(supervisor, "heartbeat_misses", 3) as u32;
    let mut actors = Vec::new();
    let mut frame_period_ms = None;
    let mut cache_kib = 0;
    if let Some(url) = &rewrite.remote {
        let cluster = table(&mut root, "cluster");
        cluster.insert("nats_url".into(), url.clone().into());
        cluster.insert("node_timeout_ms".into(), 1000.into());
    }
    let mut remotes = 0usize;
    let actor_tables = table(&mut root, "actors");
    for (name, spec) in actor_tables.iter_mut() {
        let Some(spec) = spec.as_table_mut() else {
            bail!("actors.{name} is not a table");
        };
        let kind = spec
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        let mut placement = spec
            .get("placement")
            .and_then(|p| p.as_str())
            .unwrap_or("inprocess")
            .to_string();
        if rewrite.flip {
            placement = if placement == "process" {
                "inprocess"
            } else {
                "process"
            }
            .to_string();
            spec.insert("placement".into(), placement.clone().into());
        }
        if rewrite.remote.is_some() && placement == "process" {
            placement = "remote".into();
            spec.insert("placement".into(), placement.clone().into());
            spec.remove("standby");
            let mut nodes = crate::NODES.map(toml::Value::from).to_vec();
            nodes.rotate_left(remotes % crate::NODES.len());
            spec.insert("nodes".into(), toml::Value::Array(nodes));
            remotes += 1;
        }
        if kind == "image_decode" && placement == "inprocess" {
            cache_kib += spec
                .get("cache_bytes")
                .and_then(toml::Value::as_integer)
                .unwrap_or(256 << 20) as u64
                / 1024;
        }
        if kind == "store" && placement == "inprocess" {
            // redb's page cache (`warden-store`'s 64 MiB).
            cache_kib += 64 * 1024;
        }
        let mut data = None;
        if kind == "store" {
            let path = dir.join(format!("store-{name}"));
            spec.insert("data".into(), path.display().to_string().into());
            data = Some(path);
        }
        if kind == "compositor" {
            if let Some(size) = &rewrite.size {
                spec.insert("size".into(), size.clone().into());
            }
            let fps = spec
                .get("fps")
                .and_then(toml::Value::as_integer)
                .unwrap_or(30)
                .max(1);
            frame_period_ms = Some(1000.0 / fps as f64);
        }
        let standby = placement == "process"
            && spec
                .get("standby")
                .and_then(toml::Value::as_bool)
                .unwrap_or(true);
        actors.push(ActorInfo {
            name: name.clone(),
            kind,
            standby,
            placement,
            data,
            heartbeat_ms: spec
                .get("heartbeat_ms")
                .and_then(toml::Value::as_integer)
                .map_or(heartbeat_ms, |ms| ms as u64),
        });
    }
    Ok(Prepared {
        text: toml::to_string(&root)?,
        actors,
        max_restarts,
        within_secs,
        heartbeat_ms,
        heartbeat_misses,
        frame_period_ms,
        token,
        cache_kib,
    })
}

/// A free loopback address.
pub fn free_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.to_string())
}

/// `warden run` as the drill's child.
pub struct System {
    exe: PathBuf,
    config: PathBuf,
    log: PathBuf,
    token: String,
    /// The admin address.
    pub addr: String,
    child: Option<Child>,
}

impl System {
    /// A system that runs `exe run --config config`, logging to `log`.
    pub fn new(exe: &Path, config: &Path, log: &Path, addr: &str, token: &str) -> Self {
        System {
            exe: exe.to_path_buf(),
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            token: token.to_string(),
            addr: addr.to_string(),
            child: None,
        }
    }

    /// The kernel's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Start `warden run` and wait until `/readyz` says every actor runs;
    /// the time it took.
    pub fn start(&mut self, http: &crate::http::Http) -> anyhow::Result<Duration> {
        anyhow::ensure!(self.child.is_none(), "the kernel already runs");
        let started = Instant::now();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let child = Command::new(&self.exe)
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("WARDEN_ADMIN_TOKEN", &self.token)
            .env("RUST_BACKTRACE", "0")
            .env(
                "RUST_LOG",
                std::env::var("WARDEN_DRILL_KERNEL_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {} run", self.exe.display()))?;
        self.child = Some(child);
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Some(status) = self.exited() {
                bail!(
                    "`warden run` exited during start ({status}); its log ends:\n{}",
                    self.log_tail(2000)
                );
            }
            if http.get("/readyz").is_ok_and(|r| r.status == 200) {
                return Ok(started.elapsed());
            }
            if Instant::now() > deadline {
                self.sigkill();
                bail!(
                    "`warden run` was not ready within 60 s; its log ends:\n{}",
                    self.log_tail(2000)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The kernel's exit status if it has exited (reaped); it no longer runs then.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Wait up to `within` for the kernel to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if self.child.is_none() || Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL the kernel and reap it.
    pub fn sigkill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// SIGTERM the kernel (a clean shutdown) and wait for it.
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let pid = self.pid()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let status = self.wait_exit(within);
        if status.is_none() {
            self.sigkill();
        }
        status
    }

    /// The last `bytes` of the kernel's log.
    pub fn log_tail(&self, bytes: u64) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(bytes)));
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// The kernel's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.sigkill();
    }
}

/// What a process holds, from `/proc`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Holdings {
    /// Open descriptors.
    pub fds: usize,
    /// Of which memfd shared-memory regions.
    pub memfds: usize,
    /// Of which sockets.
    pub sockets: usize,
    /// Child processes (pids).
    pub children: Vec<u32>,
    /// Children that have exited and are not reaped.
    pub zombies: Vec<u32>,
    /// Resident memory (KiB).
    pub rss_kib: u64,
    /// Entries in `/dev/shm` (the whole machine's).
    pub dev_shm: usize,
}

/// What `pid` holds now.
pub fn holdings(pid: u32) -> anyhow::Result<Holdings> {
    let mut h = Holdings::default();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        h.fds += 1;
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy();
            h.memfds += usize::from(target.starts_with("/memfd:"));
            h.sockets += usize::from(target.starts_with("socket:"));
        }
    }
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat"))
            && let Some((ppid, state)) = parse_stat(&stat)
            && ppid == pid
        {
            h.children.push(child);
            if state == 'Z' {
                h.zombies.push(child);
            }
        }
    }
    h.children.sort_unstable();
    h.zombies.sort_unstable();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    h.rss_kib = parse_rss_kib(&status).unwrap_or(0);
    h.dev_shm = std::fs::read_dir("/dev/shm")
        .map(|d| d.count())
        .unwrap_or(0);
    Ok(h)
}

/// `(ppid, state)` from a `/proc/PID/stat` line (the command may hold
/// spaces and parentheses: fields are counted after its last `)`).
pub fn parse_stat(stat: &str) -> Option<(u32, char)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// `VmRSS` in KiB from `/proc/PID/status`.
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether process `pid` still exists (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .is_some_and(|(_, state)| state != 'Z' && state != 'X')
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[kernel]
admin_addr = "0.0.0.0:7878"
[supervisor]
max_restarts = 10
within_secs = 10
heartbeat_ms = 200
[actors.store]
kind = "store"
placement = "process"
data = "warden-data/scene"
[actors.compositor]
kind = "compositor"
size = "1920x1080"
fps = 25
"#;

    #[test]
    fn prepare_moves_the_store_and_the_address_and_flips_placements() {
        let dir = Path::new("/tmp/drill-x");
        let rewrite = Rewrite {
            flip: true,
            intensity: Some((60, 10)),
            size: Some("640x360".into()),
            no_backoff: true,
            remote: None,
        };
        let p = prepare(CONFIG, dir, "127.0.0.1:5555", &rewrite).expect("prepares");
        let root: toml::Table = toml::from_str(&p.text).expect("valid TOML");
        assert_eq!(
            root["kernel"]["admin_addr"].as_str(),
            Some("127.0.0.1:5555")
        );
        assert_eq!(
            root["actors"]["store"]["data"].as_str(),
            Some("/tmp/drill-x/store-store")
        );
        assert_eq!(
            root["actors"]["store"]["placement"].as_str(),
            Some("inprocess")
        );
        assert_eq!(
            root["actors"]["compositor"]["placement"].as_str(),
            Some("process")
        );
        assert_eq!(
            root["actors"]["compositor"]["size"].as_str(),
            Some("640x360")
        );
        assert_eq!((p.max_restarts, p.within_secs), (60, 10.0));
        assert_eq!(root["supervisor"]["backoff_max_ms"].as_integer(), Some(0));
        assert_eq!((p.heartbeat_ms, p.heartbeat_misses), (200, 3));
        assert_eq!(p.frame_period_ms, Some(40.0));
        assert_eq!(
            p.actors
                .iter()
                .map(|a| (a.name.as_str(), a.placement.as_str()))
                .collect::<Vec<_>>(),
            [("store", "inprocess"), ("compositor", "process")],
            "config order"
        );
    }

    #[test]
    fn prepare_puts_each_child_on_the_nodes_in_turn() {
        let rewrite = Rewrite {
            flip: true,
            remote: Some("nats://127.0.0.1:4999".into()),
            ..Rewrite::default()
        };
        let text = format!(
            "{CONFIG}\n[actors.more]\nkind = \"fft\"\nplacement = \"inprocess\"\nstandby = true\n"
        );
        let p = prepare(&text, Path::new("/d"), "127.0.0.1:1", &rewrite).expect("prepares");
        let root: toml::Table = toml::from_str(&p.text).expect("valid TOML");
        assert_eq!(
            root["cluster"]["nats_url"].as_str(),
            Some("nats://127.0.0.1:4999")
        );
        let placements: Vec<(&str, &str)> = p
            .actors
            .iter()
            .map(|a| (a.name.as_str(), a.placement.as_str()))
            .collect();
        assert_eq!(
            placements,
            [
                ("store", "inprocess"),
                ("compositor", "remote"),
                ("more", "remote")
            ]
        );
        let nodes = |name: &str| root["actors"][name]["nodes"].clone();
        assert_eq!(
            nodes("compositor"),
            toml::Value::Array(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            nodes("more"),
            toml::Value::Array(vec!["b".into(), "a".into()])
        );
        assert!(
            root["actors"]["more"].get("standby").is_none(),
            "no standby on a node"
        );
        assert!(p.actors.iter().all(|a| !a.standby));
    }

    #[test]
    fn prepare_keeps_what_it_is_not_asked_to_change() {
        let p =
            prepare(CONFIG, Path::new("/d"), "127.0.0.1:1", &Rewrite::default()).expect("prepares");
        let root: toml::Table = toml::from_str(&p.text).expect("valid TOML");
        assert_eq!(
            root["actors"]["store"]["placement"].as_str(),
            Some("process")
        );
        assert_eq!(
            root["actors"]["compositor"]["size"].as_str(),
            Some("1920x1080")
        );
        assert_eq!(p.max_restarts, 10);
        assert!(prepare("not = [toml", Path::new("/d"), "a", &Rewrite::default()).is_err());
    }

    #[test]
    fn stat_and_status_lines_parse() {
        assert_eq!(
            parse_stat("123 (warden (x) y) Z 77 123 1 0"),
            Some((77, 'Z'))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_rss_kib("Name:\tw\nVmRSS:\t  5120 kB\n"), Some(5120));
    }

    #[test]
    fn holdings_of_this_process_see_a_child_and_its_zombie() {
        let mut child = Command::new("true").spawn().expect("spawns true");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        let me = std::process::id();
        loop {
            let h = holdings(me).expect("reads /proc");
            assert!(h.fds > 0 && h.rss_kib > 0);
            if h.zombies.contains(&pid) {
                assert!(h.children.contains(&pid));
                assert!(!alive(pid));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the exited child never showed as a zombie"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().expect("reaps");
        assert!(!holdings(me).expect("reads /proc").children.contains(&pid));
    }
}
