//! The threads that fork children. `PR_SET_PDEATHSIG` kills a child when
//! the *thread* that forked it exits, so children are forked only on
//! threads that live as long as the kernel process: one for the instances
//! being started, and one for standby children (see `host::process`), so
//! that a restart never queues behind a standby's exec and handshake.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
static STANDBY_SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

/// Run `job` on the spawner thread.
pub(crate) fn run(job: impl FnOnce() + Send + 'static) -> Result<(), String> {
    queue(&SPAWNER, "warden-spawner", Box::new(job))
}

/// Run `job` on the standby spawner thread.
pub(crate) fn run_standby(job: impl FnOnce() + Send + 'static) -> Result<(), String> {
    queue(&STANDBY_SPAWNER, "warden-standby", Box::new(job))
}

fn queue(
    cell: &'static OnceLock<Mutex<mpsc::Sender<Job>>>,
    name: &'static str,
    job: Job,
) -> Result<(), String> {
    let sender = cell.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            });
        if let Err(err) = started {
            tracing::error!(%err, thread = name, "cannot start a spawner thread");
        }
        Mutex::new(tx)
    });
    sender
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job)
        .map_err(|_| format!("the {name} thread is gone"))
}
