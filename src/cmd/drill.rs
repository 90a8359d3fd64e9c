//! `warden drill` — the whole-system drill (the `warden-drill` crate does
//! the work; this command parses arguments and prints), and with `--calls`
//! the call drill, in which the drill process is the kernel.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// The intensity the drill gives the embedded default system, so that its
/// faults can come quickly (the escalation drill then exceeds it).
const DEFAULT_INTENSITY: (u32, u32) = (60, 10);

/// Arguments of `warden drill`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The system to drill (TOML). Without it, the embedded default system
    /// (supervisor intensity raised to 60 restarts in 10 s), once as
    /// written and once with every placement flipped. Every store is
    /// moved to a temporary directory.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Drill `--config` also with every placement flipped.
    #[arg(long)]
    flip: bool,
    /// Actor faults in all, spread over the passes.
    #[arg(long, default_value_t = 200)]
    faults: u32,
    /// A soak: keep striking for this many minutes (over all passes).
    #[arg(long)]
    minutes: Option<f64>,
    /// The seed of the fault order (printed by every run; default: the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// WebSocket sessions writing the scene.
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// HTTP clients reading frames, perception and status endpoints.
    #[arg(long, default_value_t = 3)]
    readers: usize,
    /// Kernel SIGKILLs per pass (each followed by a start on the same store).
    #[arg(long, default_value_t = 1)]
    kernel_kills: u32,
    /// Skip exceeding the supervisor's intensity at the end of each pass.
    #[arg(long)]
    no_escalation: bool,
    /// Render every compositor at this size (WxH) instead of the config's.
    #[arg(long)]
    size: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// The call drill instead: the drill process is the kernel of every
    /// actor kind in both placements (or of `--config`), each under
    /// verified calls, killed, panicked and hung round after round.
    #[arg(long)]
    calls: bool,
    /// The call drill's rounds.
    #[arg(long, default_value_t = 3, requires = "calls")]
    rounds: u32,
    /// The call drill's concurrent callers per actor.
    #[arg(long, default_value_t = 4, requires = "calls")]
    callers: u32,
    /// The remote placement too (a `nats-server` and nodes `a` and `b`
    /// started here; docs/CLUSTER.md). The whole-system drill adds a pass
    /// with every child actor on the nodes, two node SIGKILLs in it, and
    /// checks that a SIGKILLed kernel's remote instances are fenced; the
    /// call drill adds a remote twin of every process actor and kills a
    /// node per round.
    #[arg(long)]
    remote: bool,
}

/// Run the drill; exit non-zero on any loss, gap, hang, leak or broken bound.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.calls {
        return calls(args);
    }
    let (config, config_name) = super::setup::config_text(args.config.as_deref())?;
    // Refuse a bad config here, with the loader's words, not as a child's failed start.
    super::setup::load_config(args.config.as_deref(), &super::setup::registry())?;
    let embedded = args.config.is_none();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let data = tempfile::tempdir().context("cannot make a directory for the cluster")?;
    let remote = if args.remote {
        let cluster = DrillNodes::start(data.path())?;
        Some(std::sync::Arc::new(warden_drill::Cluster {
            url: cluster.url.clone(),
            nodes: std::sync::Mutex::new(Box::new(cluster)),
        }))
    } else {
        None
    };
    let options = warden_drill::Options {
        exe: std::env::current_exe().context("cannot find the warden binary")?,
        config,
        config_name,
        flips: if embedded || args.flip {
            vec![false, true]
        } else {
            vec![false]
        },
        intensity: embedded.then_some(DEFAULT_INTENSITY),
        size: args.size,
        faults: args.faults,
        minutes: args.minutes,
        seed,
        sessions: args.sessions,
        readers: args.readers,
        kernel_kills: args.kernel_kills,
        escalate: !args.no_escalation,
        progress: true,
        remote,
    };
    eprintln!("drill: seed {seed} (replay with --seed {seed})");
    let report = warden_drill::run(&options)?;
    drop(options);
    drop(data);
    print_report(args.json, &report, || report.table(), report.ok)
}

/// Print a drill's report (`--json`: one object; otherwise its table) and
/// turn its verdict into the exit status.
fn print_report(
    json: bool,
    report: &impl serde::Serialize,
    table: impl FnOnce() -> String,
    ok: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{}", table());
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The call drill's own system (`src/drill.toml`), its stores in `dir`.
const DRILL_CONFIG: &str = include_str!("../drill.toml");

/// `--calls`: the call drill in this process (the `warden-drill` crate's
/// `calls` module does the work).
fn calls(args: Args) -> anyhow::Result<ExitCode> {
    let registry = super::setup::registry();
    let data = tempfile::tempdir().context("cannot make a directory for the drill's stores")?;
    let mut nodes: Option<Box<dyn warden_drill::calls::Nodes>> = None;
    let config = match &args.config {
        Some(path) => super::setup::load_config(Some(path), &registry)?,
        None => {
            let mut text = DRILL_CONFIG.replace("@DATA@", &data.path().display().to_string());
            if args.remote {
                let cluster = DrillNodes::start(data.path())?;
                text = with_remote_twins(&text, &cluster.url)?;
                nodes = Some(Box::new(cluster));
            }
            warden_kernel::KernelConfig::from_toml(&text, &registry)?
        }
    };
    // Faults are injected on purpose: their backtraces are noise, and
    // symbolising one would be counted as recovery time.
    super::logging::quiet_backtraces();
    let report = warden_drill::calls::run(warden_drill::calls::CallOptions {
        config,
        registry,
        kernel: warden_kernel::KernelOptions {
            worker_env: vec![("RUST_BACKTRACE".into(), "0".into())],
            ..warden_kernel::KernelOptions::default()
        },
        rounds: args.rounds,
        callers: args.callers,
        nodes,
    })?;
    drop(data);
    print_report(args.json, &report, || report.table(), report.ok)
}

/// `text` plus `[cluster]` at `url` and, for every process actor, a twin
/// `NAME_remote` on nodes `a` and `b` (a store's twin on its own files).
fn with_remote_twins(text: &str, url: &str) -> anyhow::Result<String> {
    let mut root: toml::Table = toml::from_str(text)?;
    let mut cluster = toml::Table::new();
    cluster.insert("nats_url".into(), url.into());
    cluster.insert("node_timeout_ms".into(), 1000.into());
    root.insert("cluster".into(), cluster.into());
    let actors = root
        .get_mut("actors")
        .and_then(toml::Value::as_table_mut)
        .context("the drill's config has no actors")?;
    let twins: Vec<(String, toml::Table)> = actors
        .iter()
        .filter_map(|(name, spec)| {
            let spec = spec.as_table()?;
            (spec.get("placement")?.as_str()? == "process").then(|| {
                let mut twin = spec.clone();
                twin.insert("placement".into(), "remote".into());
                twin.insert(
                    "nodes".into(),
                    toml::Value::Array(vec!["a".into(), "b".into()]),
                );
                if let Some(data) = twin.get("data").and_then(toml::Value::as_str) {
                    let data = format!("{data}_remote");
                    twin.insert("data".into(), data.into());
                }
                let base = name.strip_suffix("_process").unwrap_or(name);
                (format!("{base}_remote"), twin)
            })
        })
        .collect();
    for (name, twin) in twins {
        actors.insert(name, twin.into());
    }
    Ok(toml::to_string(&root)?)
}

/// A `nats-server` and nodes `a` and `b`, all ending with the drill.
struct DrillNodes {
    url: String,
    server: std::process::Child,
    nodes: Vec<(String, std::process::Child)>,
}

impl DrillNodes {
    fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        let bin = warden_kernel::node::nats_server()
            .context("--remote needs nats-server (apt install nats-server; docs/CLUSTER.md)")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!("listen: 127.0.0.1:{port}\nmax_payload: 8MB\n"),
        )?;
        let server = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start nats-server")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut cluster = DrillNodes {
            url: format!("nats://127.0.0.1:{port}"),
            server,
            nodes: Vec::new(),
        };
        for name in ["a", "b"] {
            cluster
                .spawn(name)?
                .recv_timeout(std::time::Duration::from_secs(15))
                .with_context(|| format!("node {name} did not join"))?;
        }
        Ok(cluster)
    }
}

impl warden_drill::calls::Nodes for DrillNodes {
    fn kill(&mut self, name: &str) {
        if let Some(index) = self.nodes.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.nodes.remove(index);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it without waiting (the drill's thread runs the kernel's
    /// actors: it must not block); the node joins within a second.
    fn start(&mut self, name: &str) -> anyhow::Result<()> {
        self.spawn(name).map(drop)
    }
}

impl DrillNodes {
    /// Start node `name`; the receiver hears when it has joined.
    fn spawn(&mut self, name: &str) -> anyhow::Result<std::sync::mpsc::Receiver<()>> {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args(["node", "--nats", &self.url, "--name", name])
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .env("RUST_LOG", "warn")
            .env("RUST_BACKTRACE", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("cannot start a node")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("joined") {
                    let _ = tx.send(());
                }
            }
        });
        self.nodes.push((name.to_string(), child));
        Ok(rx)
    }
}

impl Drop for DrillNodes {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
