//! `warden bench`: parse the arguments and run the benchmark in
//! `warden-bench` (the crate documents what each measures). The hidden
//! `uds-echo` and `floor` modes are the baselines' child sides, which the
//! benchmarks re-execute this binary for.

use std::path::PathBuf;
use std::process::ExitCode;

/// The binary's actor kinds and default config, for the benchmarks.
const BINARY: warden_bench::Binary = warden_bench::Binary {
    registry: super::setup::registry,
    default_config: super::setup::DEFAULT_CONFIG,
};

/// Arguments of `warden bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    which: Which,
}

#[derive(clap::Subcommand)]
enum Which {
    /// IPC and supervision paths against their baselines.
    Ipc {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Round trips per latency measurement.
        #[arg(long, default_value_t = 5000)]
        calls: usize,
        /// Restarts to time.
        #[arg(long, default_value_t = 15)]
        restarts: usize,
        /// Profiling aid: only time out-of-process calls, for this many seconds.
        #[arg(long, hide = true)]
        profile_process_calls: Option<u64>,
    },
    /// The concern actors' paths against their baselines.
    Actors {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The live system of `warden run` (1080p, five actors) under faults,
    /// each fault window beside a no-fault window: pacing, CPU, latencies.
    Run {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Length of each window (s).
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Frame rates to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![30.0, 60.0])]
        fps: Vec<f64>,
        /// Also run a slideshow this long (s) and report memory, fds and
        /// shared memory (the figure is 600).
        #[arg(long)]
        soak: Option<f64>,
    },
    /// The client-facing interfaces: WebSocket acks and fan-out, seed
    /// 003's endpoints, the shared-memory export, each beside its baseline.
    Wire {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Length of the timed phases (s).
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
    },
    /// The renderer: each transition on the CPU path, on wgpu waiting for
    /// every frame and pipelined, beside the bare readback floor.
    Render {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Frames per path and case.
        #[arg(long, default_value_t = 60)]
        frames: usize,
        /// Sizes, comma-separated.
        #[arg(long, default_value = "1920x1080,3840x2160", value_delimiter = ',', value_parser = parse_size)]
        sizes: Vec<(u32, u32)>,
        /// Transitions, comma-separated.
        #[arg(long, default_value = "crossfade,blockflip,zoom", value_delimiter = ',', value_parser = parse_transition)]
        transitions: Vec<warden_renderer::TransitionKind>,
    },
    /// The remote placement on loopback (nats-server and three `warden
    /// node`s started here) beside a bare async-nats client: calls, 1080p
    /// frames, node failover, moves under load.
    Remote {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Round trips per call figure.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// 1080p frames per frame figure.
        #[arg(long, default_value_t = 30)]
        frames: usize,
        /// Node SIGKILLs to time.
        #[arg(long, default_value_t = 5)]
        failovers: usize,
        /// Moves under load.
        #[arg(long, default_value_t = 10)]
        moves: usize,
    },
    /// Baseline child: echo length-prefixed frames on a Unix socket.
    #[command(hide = true)]
    UdsEcho {
        /// Socket path to connect to.
        path: PathBuf,
    },
    /// Baseline child: handshake, answer one message, wait.
    #[command(hide = true)]
    Floor {
        /// The parent's one-shot server.
        #[arg(long)]
        bootstrap: String,
        /// The parent's pid.
        #[arg(long)]
        parent_pid: u32,
    },
}

/// Run the chosen benchmark.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Injected panics are the benchmarks' faults, not news.
    if !matches!(args.which, Which::UdsEcho { .. } | Which::Floor { .. }) {
        super::logging::quiet_backtraces();
    }
    match args.which {
        Which::Ipc {
            profile_process_calls: Some(seconds),
            ..
        } => warden_bench::profile_process_calls(BINARY, seconds),
        Which::Ipc {
            json,
            calls,
            restarts,
            profile_process_calls: None,
        } => warden_bench::ipc(BINARY, json, calls.max(100), restarts.max(3)),
        Which::Actors { json } => warden_bench::actors(BINARY, json),
        Which::Run {
            json,
            secs,
            fps,
            soak,
        } => warden_bench::live(BINARY, json, secs.max(2.0), &fps, soak),
        Which::Wire { json, secs } => warden_bench::wire(BINARY, json, secs),
        Which::Render {
            json,
            frames,
            sizes,
            transitions,
        } => warden_bench::render::render(json, frames, &sizes, &transitions),
        Which::Remote {
            json,
            calls,
            frames,
            failovers,
            moves,
        } => warden_bench::remote::remote(
            BINARY,
            json,
            calls.max(100),
            frames.max(3),
            failovers,
            moves,
        ),
        Which::UdsEcho { path } => warden_bench::uds_echo(&path),
        Which::Floor {
            bootstrap,
            parent_pid,
        } => warden_bench::floor(&bootstrap, parent_pid),
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    warden_renderer::parse_size(s).map_err(|e| e.to_string())
}

fn parse_transition(s: &str) -> Result<warden_renderer::TransitionKind, String> {
    warden_renderer::TransitionKind::from_name(s).map_err(|e| e.to_string())
}
