//! The `warden` binary: parses the command line, installs logging, and hands
//! each subcommand to its module in `cmd/`. Nothing else lives here.

mod cmd;

/// mimalloc: a store's start decodes thousands of small JSON values, and
/// glibc's malloc and free were a third of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Warden: a supervised actor microkernel for media and perception.
#[derive(Parser)]
#[command(name = "warden", version, about, propagate_version = true)]
struct Cli {
    /// Log line format on stderr (`RUST_LOG` sets the filter).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Boot the actors the config names, supervise them and serve the admin API.
    Run(cmd::run::Args),
    /// Validate a config file; errors name the key.
    CheckConfig(cmd::check_config::Args),
    /// The whole-system drill: `warden run` under client load, struck with every fault (the kernel too), nothing lost.
    Drill(cmd::drill::Args),
    /// Microbenchmarks of the kernel against their physical baselines.
    Bench(cmd::bench::Args),
    /// Join a cluster over NATS and host the actors a kernel places here (`placement = "remote"`).
    Node(cmd::node::Args),
    /// The child side of a process host (started by the kernel, not by users).
    #[command(hide = true)]
    Worker(cmd::worker::Args),
    /// Render a transition between two images offline, frame by frame.
    Render(cmd::render::Args),
    /// Decode and prescale one image, with timings.
    Decode(cmd::decode::Args),
    /// FFT analysis of a WAV file (bars, peaks, beats, tempo), or generate test audio.
    Analyze(cmd::analyze::Args),
    /// Run detection and tracking over a synthetic or recorded sequence and score it.
    Perceive(cmd::perceive::Args),
    /// Inspect, verify and benchmark a scene store on disk.
    Store(cmd::store::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::logging::install(matches!(cli.log_format, LogFormat::Json));
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::CheckConfig(args) => cmd::check_config::run(args),
        Command::Drill(args) => cmd::drill::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Worker(args) => cmd::worker::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Decode(args) => cmd::decode::run(args),
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Perceive(args) => cmd::perceive::run(args),
        Command::Store(args) => cmd::store::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line, the whole cause chain, never a backtrace.
            eprintln!("error: {}", cmd::logging::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
