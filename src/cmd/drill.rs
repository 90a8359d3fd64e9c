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
    };
    eprintln!("drill: seed {seed} (replay with --seed {seed})");
    let report = warden_drill::run(&options)?;
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
    let config = match &args.config {
        Some(path) => super::setup::load_config(Some(path), &registry)?,
        None => {
            let text = DRILL_CONFIG.replace("@DATA@", &data.path().display().to_string());
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
    })?;
    drop(data);
    print_report(args.json, &report, || report.table(), report.ok)
}
