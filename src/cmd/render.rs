//! `warden render` — placeholder while the owning issue lands; replaced, not extended.

use std::process::ExitCode;

/// Arguments of `warden render`.
#[derive(clap::Args)]
pub(crate) struct Args {}

/// Run the subcommand.
pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`warden render` is being built in this session")
}
