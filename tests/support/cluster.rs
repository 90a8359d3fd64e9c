//! A real `nats-server` on a loopback port and real `warden node` processes,
//! for tests of the remote placement. Every process is forked on one thread
//! that lives as long as the test binary, with `PR_SET_PDEATHSIG`, so none
//! outlives a test run that panics or is killed.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, unsafe_code)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

/// Run `command` on the forking thread, its life tied to this process.
fn spawn_tied(mut command: Command) -> std::io::Result<Child> {
    static FORKER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = FORKER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for job in rx {
                job();
            }
        });
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    sender
        .lock()
        .unwrap()
        .send(Box::new(move || {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: prctl(2) is async-signal-safe; nothing else runs
            // between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                        .map_err(std::io::Error::from)
                });
            }
            let _ = tx.send(command.spawn());
        }))
        .unwrap();
    rx.recv().unwrap()
}

/// `nats-server`, if installed. `.ci/run` installs it; elsewhere a test
/// without it prints why it skipped, unless `WARDEN_REQUIRE_NATS` is set.
pub fn nats_server() -> Option<PathBuf> {
    let found = warden_kernel::node::nats_server();
    if found.is_none() {
        assert!(
            std::env::var_os("WARDEN_REQUIRE_NATS").is_none(),
            "WARDEN_REQUIRE_NATS is set but nats-server is not installed"
        );
        eprintln!("SKIPPED: nats-server is not installed (apt install nats-server; .ci/run does)");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A NATS server and the nodes on it; all killed when dropped.
pub struct TestCluster {
    pub url: String,
    pub prefix: String,
    server: Child,
    pub nodes: Vec<(String, Child)>,
    dir: tempfile::TempDir,
}

impl TestCluster {
    /// A server (max_payload in bytes; the server's default is 1 MiB)
    /// and one node per name.
    pub fn start(nodes: &[&str], max_payload: Option<usize>) -> Option<Self> {
        let server_bin = nats_server()?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf = format!("listen: 127.0.0.1:{port}\n");
        if let Some(max) = max_payload {
            conf.push_str(&format!("max_payload: {max}\n"));
        }
        let conf_path = dir.path().join("nats.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = Command::new(server_bin);
        command
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let server = spawn_tied(command).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "t{}x{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let mut cluster = TestCluster {
            url: format!("nats://127.0.0.1:{port}"),
            prefix,
            server,
            nodes: Vec::new(),
            dir,
        };
        for name in nodes {
            cluster.add_node(name);
        }
        Some(cluster)
    }

    /// Start node `name` and wait until it has joined.
    pub fn add_node(&mut self, name: &str) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command
            .args([
                "node",
                "--nats",
                &self.url,
                "--name",
                name,
                "--subject-prefix",
                &self.prefix,
            ])
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_tied(command).unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let label = name.to_string();
        std::thread::spawn(move || {
            let mut said = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !said && line.contains("joined") {
                    said = true;
                    let _ = tx.send(());
                }
                if std::env::var_os("WARDEN_TEST_NODE_LOG").is_some() {
                    eprintln!("[node {label}] {line}");
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(15))
            .expect("the node did not join");
        self.nodes.push((name.to_string(), child));
    }

    /// The `[cluster]` table for a kernel on this cluster.
    pub fn toml(&self) -> String {
        format!(
            "[cluster]\nnats_url = \"{}\"\nsubject_prefix = \"{}\"\nnode_timeout_ms = 1000\n",
            self.url, self.prefix
        )
    }

    fn node(&mut self, name: &str) -> &mut Child {
        &mut self
            .nodes
            .iter_mut()
            .find(|(n, _)| n == name)
            .expect("no such node")
            .1
    }

    /// The node's pid.
    pub fn pid(&mut self, name: &str) -> u32 {
        self.node(name).id()
    }

    /// SIGKILL node `name` (its children die with it); `add_node` starts
    /// it again.
    pub fn kill_node(&mut self, name: &str) {
        if let Some(index) = self.nodes.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.nodes.remove(index);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP / SIGCONT node `name` (a partition, as its kernel sees it).
    pub fn signal_node(&mut self, name: &str, signal: nix::sys::signal::Signal) {
        let pid = self.node(name).id();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// One cluster with nodes `a` and `b` shared by a test binary's tests
/// (each kernel's instances are its own: subjects carry the kernel's id).
pub fn shared() -> Option<&'static Mutex<TestCluster>> {
    static SHARED: OnceLock<Option<Mutex<TestCluster>>> = OnceLock::new();
    SHARED
        .get_or_init(|| TestCluster::start(&["a", "b"], None).map(Mutex::new))
        .as_ref()
}
