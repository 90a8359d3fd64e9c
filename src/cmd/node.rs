//! `warden node --nats URL --name NODE`: join a cluster and host the actors
//! a kernel places on this node (`placement = "remote"`; docs/CLUSTER.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use warden_kernel::config::ClusterConfig;
use warden_kernel::node::{self, NodeOptions};

/// Command-line arguments.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The NATS server(s), comma-separated.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// This node's name, as actors' `node`/`nodes` name it (a-z, 0-9, '_', '-').
    #[arg(long)]
    name: String,
    /// Instances it hosts at most (default: 4 per CPU).
    #[arg(long)]
    capacity: Option<usize>,
    /// The first token of every subject (the kernel's `[cluster] subject_prefix`).
    #[arg(long, default_value = "warden")]
    subject_prefix: String,
    /// A NATS credentials file.
    #[arg(long)]
    creds: Option<PathBuf>,
    /// A NATS token (or `WARDEN_NATS_TOKEN`).
    #[arg(long)]
    token: Option<String>,
    /// Require TLS to the server.
    #[arg(long)]
    tls_required: bool,
    /// A root certificate to trust for TLS.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Die with this process (the drill's nodes).
    #[arg(long, hide = true)]
    parent_pid: Option<u32>,
}

/// Serve until SIGINT/SIGTERM.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(parent) = args.parent_pid {
        warden_transport::bootstrap::die_with_parent(parent)?;
    }
    let capacity = args
        .capacity
        .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(1, |n| n.get()));
    node::run(NodeOptions {
        name: args.name,
        cluster: ClusterConfig {
            nats_url: args.nats,
            prefix: args.subject_prefix,
            node_timeout: Duration::from_millis(1500),
            creds: args.creds,
            user: None,
            password: None,
            token: args
                .token
                .or_else(|| std::env::var("WARDEN_NATS_TOKEN").ok()),
            tls_required: args.tls_required,
            tls_ca: args.tls_ca,
        },
        capacity: capacity.max(1),
        worker_program: "/proc/self/exe".into(),
        worker_args: vec!["worker".into()],
        worker_env: Vec::new(),
    })
    .map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}
