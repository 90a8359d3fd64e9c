//! `warden run` — boot the configured actors under the supervisor, serve the
//! admin API and the live picture (frames, the MJPEG stream, the
//! compositor's figures), and run until SIGINT/SIGTERM (clean shutdown,
//! exit 0) or until the supervisor escalates (exit 1, naming the actor and
//! its last exits). With `--frames N --out DIR`, render N frames of the live
//! system offline instead (see `frames.rs`).

mod frames;

use std::io::{Read as _, Write as _};
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
    /// Render this many frames of the live system (on the virtual clock:
    /// deterministic) into `--out` as PNG files, print a summary and exit.
    #[arg(long, value_name = "N", requires = "out")]
    frames: Option<u64>,
    /// Where `--frames` writes (created if missing).
    #[arg(long, value_name = "DIR", requires = "frames")]
    out: Option<PathBuf>,
    /// Print the `--frames` summary as JSON.
    #[arg(long, requires = "frames")]
    json: bool,
    /// JPEG quality of the stream and of /api/frame.jpg (1..=100).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    jpeg_quality: u8,
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

/// glibc gives threads that allocate their own malloc arenas (up to eight
/// per core) and gives little of them back: each in-process actor restarted
/// on a fresh thread leaves pages resident. Measured over 1,500 kills of
/// `warden run`'s actors (docs/BENCHMARKS.md), resident memory plateaus at
/// 718–744 MiB with glibc's default and at 471–483 MiB with two arenas. The
/// kernel's allocations are short; two arenas suffice. A `MALLOC_ARENA_MAX`
/// the user set wins (glibc reads it itself). Since then Rust's allocations
/// go to mimalloc (`main.rs`); this still bounds what C libraries allocate
/// through glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn bound_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter, before the
        // kernel has started any thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}

/// Boot, serve, wait.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    bound_malloc_arenas();
    let registry = super::setup::registry();
    if let (Some(count), Some(out)) = (args.frames, args.out.as_deref()) {
        let (text, origin) = super::setup::config_text(args.config.as_deref())?;
        let summary = frames::render(&text, &registry, count, out)
            .with_context(|| format!("warden run --frames with {origin}"))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            println!("{summary}");
        }
        return Ok(ExitCode::SUCCESS);
    }
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
        let web = match warden_web::Web::start(
            &kernel,
            warden_web::WebOptions {
                jpeg_quality: args.jpeg_quality,
                token: token.clone(),
                open_writes: kernel.config().admin.open_writes,
                allowed_origins: kernel.config().admin.allowed_origins.clone(),
            },
        ) {
            Ok(web) => web,
            Err(err) => {
                kernel.shutdown().await;
                return Err(err.into());
            }
        };
        let server =
            match admin::serve_with(kernel.clone(), addr, token.clone(), web.routes()).await {
                Ok(server) => server,
                Err(err) => {
                    kernel.shutdown().await;
                    return Err(err.into());
                }
            };
        println!("warden: admin API on http://{}", server.addr);
        println!(
            "warden: dashboard on http://{}/ (the picture, the actors, the scene)",
            server.addr
        );
        if web.hub().is_some() {
            println!(
                "warden: live picture on http://{0}/api/stream.mjpeg (one frame: /api/frame.jpg, \
                 figures: /api/compositor)",
                server.addr
            );
        }
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
                // A reader that closed our stdout must not turn a clean stop
                // into a panic.
                let _ = writeln!(std::io::stdout(), "warden: stopped");
                Ok(ExitCode::SUCCESS)
            }
            Some(reason) => {
                server.stop().await;
                anyhow::bail!("the supervisor escalated: {reason}")
            }
        }
    })
}
