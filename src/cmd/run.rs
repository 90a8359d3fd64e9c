//! `warden run` — boot the configured actors under the supervisor, serve the
//! admin API, and run until SIGINT/SIGTERM (clean shutdown, exit 0) or until
//! the supervisor escalates (exit 1, naming the actor and its last exits).

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use warden_kernel::admin::{self, is_loopback};
use warden_kernel::{ActorStatus, Kernel, KernelOptions};

/// Arguments of `warden run`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file (TOML). Without it, the embedded default runs.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Admin API address; overrides `[kernel] admin_addr`.
    #[arg(long)]
    admin: Option<SocketAddr>,
}

fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut bytes))
        .context("cannot read /dev/urandom to make an admin token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn print_table(statuses: &[ActorStatus]) {
    println!(
        "{:<16} {:<12} {:<10} {:<11} {:>8}",
        "ACTOR", "KIND", "PLACEMENT", "STATE", "PID"
    );
    for status in statuses {
        println!(
            "{:<16} {:<12} {:<10} {:<11} {:>8}",
            status.name,
            status.kind,
            status.placement.as_str(),
            format!("{:?}", status.state).to_lowercase(),
            status.pid
        );
    }
}

/// Boot, serve, wait.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let registry = super::setup::registry();
    let config = super::setup::load_config(args.config.as_deref(), &registry)?;
    let addr = args.admin.unwrap_or(config.admin.addr);
    let configured = config.admin.token.clone().or_else(|| {
        std::env::var("WARDEN_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
    });
    if configured.is_none() && !is_loopback(&addr) {
        anyhow::bail!(
            "refusing to serve the admin API on {addr} without a token: it is not a loopback \
             address; set [kernel] admin_token or WARDEN_ADMIN_TOKEN"
        );
    }
    let (token, generated) = match configured {
        Some(token) => (token, false),
        None => (random_token()?, true),
    };

    actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
        let server = match admin::serve(kernel.clone(), addr, token.clone()).await {
            Ok(server) => server,
            Err(err) => {
                kernel.shutdown().await;
                return Err(err.into());
            }
        };
        println!("warden: admin API on http://{}", server.addr);
        if generated {
            println!("warden: admin token (for POST endpoints): {token}");
        }
        print_table(&kernel.statuses());

        let mut term =
            actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::terminate())
                .context("cannot listen for SIGTERM")?;
        let outcome = tokio::select! {
            _ = actix_rt::signal::ctrl_c() => None,
            _ = term.recv() => None,
            reason = kernel.escalated() => Some(reason),
        };
        match outcome {
            None => {
                tracing::info!("signal received: shutting down in reverse start order");
                kernel.shutdown().await;
                server.stop().await;
                println!("warden: stopped");
                Ok(ExitCode::SUCCESS)
            }
            Some(reason) => {
                server.stop().await;
                anyhow::bail!("the supervisor escalated: {reason}")
            }
        }
    })
}
