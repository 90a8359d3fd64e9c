//! `warden check-config FILE` — validate a config; errors name the key.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_kernel::admin::is_loopback;

/// Arguments of `warden check-config`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The TOML file to check.
    file: PathBuf,
}

/// Validate and summarise the file.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let registry = super::setup::registry();
    let config = super::setup::load_config(Some(&args.file), &registry)?;
    println!("{}: ok", args.file.display());
    println!("  admin API: http://{}", config.admin.addr);
    if config.admin.token.is_none() && !is_loopback(&config.admin.addr) {
        println!(
            "  warning: {} is not a loopback address and no admin_token is set; \
             `warden run` will refuse to start unless WARDEN_ADMIN_TOKEN is set",
            config.admin.addr
        );
    }
    let sup = &config.supervisor;
    println!(
        "  supervisor: {:?}, at most {} restarts within {} s, heartbeat {} ms × {}",
        sup.strategy,
        sup.max_restarts,
        sup.within.as_secs(),
        sup.heartbeat.as_millis(),
        sup.heartbeat_misses
    );
    for spec in &config.actors {
        println!(
            "  actor {} ({}): {}, {:?}",
            spec.name,
            spec.kind,
            spec.placement.as_str(),
            spec.restart
        );
    }
    Ok(ExitCode::SUCCESS)
}
