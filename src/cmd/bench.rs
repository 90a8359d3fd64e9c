//! `warden bench` — placeholder while the owning issue lands; replaced, not extended.

use std::process::ExitCode;

/// Arguments of `warden bench`.
#[derive(clap::Args)]
pub(crate) struct Args {}

/// Run the subcommand.
pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`warden bench` is being built in this session")
}
