//! What the kernel leaves behind: across 100 restarts no file descriptor
//! leaks; after shutdown no zombie child, no live child, and no socket
//! directory from the handshake. One test in its own binary, so that no
//! other test's children are counted.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::{FAST, echo, eventually, fd_count, probe};
use warden_kernel::Placement;
use warden_kernel::probe::Probe;

fn socket_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("socket").exists())
        .collect();
    dirs.sort();
    dirs
}

fn shm_segments() -> Vec<PathBuf> {
    std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_rt::test]
async fn a_hundred_restarts_leak_nothing_and_shutdown_leaves_nothing() {
    let dirs_before = socket_dirs();
    let shm_before = shm_segments();
    let kernel = support::boot(&format!(
        "{FAST}\n{}{}",
        probe("child", Placement::Process, ""),
        probe("local", Placement::Inprocess, "")
    ))
    .await;
    let child = kernel.actor::<Probe>("child").unwrap();
    let local = kernel.actor::<Probe>("local").unwrap();
    // Warm up: one restart of each, so lazily created resources exist.
    for name in ["child", "local"] {
        kernel.kill(name, "warm-up").unwrap();
        assert!(
            eventually(Duration::from_secs(5), || kernel
                .status(name)
                .unwrap()
                .generation
                == 2)
            .await
        );
    }
    echo(&child, "warm").await;
    echo(&local, "warm").await;
    // The child's standby (spawned a little after each start) holds its
    // channels too: count with it there, before and after.
    let has_standby = || kernel.status("child").unwrap().standby_pid.is_some();
    assert!(eventually(Duration::from_secs(5), has_standby).await);
    let fds_before = fd_count();

    for n in 0..100u64 {
        let name = if n % 2 == 0 { "child" } else { "local" };
        let generation = kernel.status(name).unwrap().generation;
        kernel.kill(name, "restart drill").unwrap();
        assert!(
            eventually(Duration::from_secs(5), || kernel
                .status(name)
                .unwrap()
                .generation
                == generation + 1
                && kernel.status(name).unwrap().state
                    == warden_kernel::State::Running)
            .await,
            "restart {n} of {name}"
        );
    }
    echo(&child, "after").await;
    echo(&local, "after").await;
    // Old arbiters and reapers wind down asynchronously.
    let settled = eventually(Duration::from_secs(5), || {
        has_standby() && fd_count() <= fds_before
    })
    .await;
    assert!(
        settled,
        "fds grew from {fds_before} to {} across 100 restarts",
        fd_count()
    );

    let pid = kernel.status("child").unwrap().pid;
    kernel.shutdown().await;
    assert!(
        eventually(Duration::from_secs(5), || support::children().is_empty()).await,
        "children left after shutdown: {:?}",
        support::children()
    );
    assert!(!support::alive(pid));
    let leftover: Vec<_> = socket_dirs()
        .into_iter()
        .filter(|d| !dirs_before.contains(d))
        .collect();
    assert!(leftover.is_empty(), "socket directories left: {leftover:?}");
    // Pools are memfds, released with the last mapping; nothing may appear in /dev/shm.
    let shm_left: Vec<_> = shm_segments()
        .into_iter()
        .filter(|segment| !shm_before.contains(segment))
        .collect();
    assert!(
        shm_left.is_empty(),
        "shared-memory segments left: {shm_left:?}"
    );
}
