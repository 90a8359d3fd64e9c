//! `warden analyze` — placeholder while the owning issue lands; replaced, not extended.

use std::process::ExitCode;

/// Arguments of `warden analyze`.
#[derive(clap::Args)]
pub(crate) struct Args {}

/// Run the subcommand.
pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`warden analyze` is being built in this session")
}
