//! `warden worker` — the child side of a process host. The kernel starts it;
//! users never do.

use std::process::ExitCode;

use warden_kernel::worker::{Misbehave, WorkerArgs};

/// Arguments the kernel passes to a child.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Actor kind to host.
    #[arg(long)]
    actor: String,
    /// Actor name (for logs).
    #[arg(long)]
    name: String,
    /// The kernel's one-shot server.
    #[arg(long)]
    bootstrap: String,
    /// The kernel's pid.
    #[arg(long)]
    parent_pid: u32,
    /// Test hook: break the protocol on purpose (garbage, bad-release, exit-early).
    #[arg(long, hide = true)]
    misbehave: Option<Misbehave>,
}

/// Serve as a child until the kernel says stop, or dies.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Nothing but stdio is ours to inherit (the kernel's channels to the
    // other children are not).
    warden_transport::bootstrap::close_inherited_descriptors();
    let code = super::setup::registry().run_worker(&WorkerArgs {
        kind: args.actor,
        name: args.name,
        bootstrap: args.bootstrap,
        parent_pid: args.parent_pid,
        misbehave: args.misbehave,
    });
    // The kernel knows already; a backtrace of the panic is still being
    // written (the kernel kills a child that lingers after 2 s).
    warden_kernel::panics::flush_backtraces(std::time::Duration::from_millis(1500));
    // Exit with the exact code the actor chose (ExitCode only carries u8 portably).
    std::process::exit(code)
}
