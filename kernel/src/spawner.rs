//! The one thread that forks children. `PR_SET_PDEATHSIG` kills a child when
//! the *thread* that forked it exits, so children are forked only here, on a
//! thread that lives as long as the kernel process.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

/// Run `job` on the spawner thread.
pub(crate) fn run(job: impl FnOnce() + Send + 'static) -> Result<(), String> {
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("warden-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            });
        if let Err(err) = started {
            tracing::error!(%err, "cannot start the spawner thread");
        }
        Mutex::new(tx)
    });
    sender
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(Box::new(job))
        .map_err(|_| "the spawner thread is gone".to_string())
}
