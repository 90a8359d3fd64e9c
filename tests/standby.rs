//! Standby children: a process actor keeps one child exec'd and connected
//! ahead of need, and a restart hands it the setup instead of spawning.
//! Its own test binary, so that no other test's children are counted.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::Duration;

use support::{FAST, boot, echo, eventually, probe};
use warden_kernel::probe::Probe;
use warden_kernel::{Kernel, Placement, State};

async fn standby_of(kernel: &Kernel, name: &str) -> u32 {
    let mut pid = None;
    assert!(
        eventually(Duration::from_secs(5), || {
            pid = kernel.status(name).unwrap().standby_pid;
            pid.is_some()
        })
        .await,
        "{name} got no standby: {:?}",
        kernel.status(name).unwrap()
    );
    pid.unwrap()
}

async fn restarted(kernel: &Kernel, name: &str, generation: u64) {
    assert!(
        eventually(Duration::from_secs(5), || {
            let status = kernel.status(name).unwrap();
            status.generation == generation && status.state == State::Running
        })
        .await,
        "{name} is not running generation {generation}: {:?}",
        kernel.status(name).unwrap()
    );
}

/// How the "started" event of `generation` says it came to be.
fn started_detail(kernel: &Kernel, name: &str, generation: u64) -> String {
    kernel
        .events_since(0)
        .into_iter()
        .find(|e| e.actor == name && e.kind == "started" && e.generation == generation)
        .map(|e| e.detail)
        .unwrap_or_else(|| panic!("no started event for {name} generation {generation}"))
}

fn is_child(pid: u32) -> bool {
    support::children()
        .iter()
        .any(|&(child, state)| child == pid && state != 'Z')
}

#[actix_rt::test]
async fn a_restart_takes_the_standby_and_the_next_one_follows() {
    let kernel = boot(&format!(
        "{FAST}\n{}{}",
        probe("child", Placement::Process, ""),
        probe("local", Placement::Inprocess, "")
    ))
    .await;
    let child = kernel.actor::<Probe>("child").unwrap();
    let first = standby_of(&kernel, "child").await;
    assert!(
        is_child(first),
        "the standby {first} is a child of the kernel"
    );
    assert_ne!(first, kernel.status("child").unwrap().pid);
    assert!(started_detail(&kernel, "child", 1).contains("(spawned)"));

    kernel.kill("child", "test").unwrap();
    restarted(&kernel, "child", 2).await;
    assert_eq!(
        kernel.status("child").unwrap().pid,
        first,
        "the new instance is the standby"
    );
    let detail = started_detail(&kernel, "child", 2);
    assert!(detail.contains("(from its standby)"), "{detail}");
    assert!(detail.contains(" ms"), "{detail}");
    assert_eq!(echo(&child, "after").await, 2);

    let second = standby_of(&kernel, "child").await;
    assert_ne!(second, first);
    // In-process actors have none.
    assert_eq!(kernel.status("local").unwrap().standby_pid, None);
    // The start time is measured.
    assert!(
        kernel
            .metrics_text()
            .contains("warden_start_seconds_count{actor=\"child\"} 2"),
        "{}",
        kernel.metrics_text()
    );

    kernel.shutdown().await;
    assert!(
        eventually(Duration::from_secs(5), || support::children().is_empty()).await,
        "children (the standby {second} among them?) left after shutdown: {:?}",
        support::children()
    );
}

#[actix_rt::test]
async fn a_standby_killed_behind_the_kernels_back_is_replaced_by_a_spawn() {
    let kernel = boot(&format!(
        "{FAST}\n{}",
        probe("victim", Placement::Process, "")
    ))
    .await;
    let probe_ref = kernel.actor::<Probe>("victim").unwrap();
    let standby = standby_of(&kernel, "victim").await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(standby as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || !support::alive(standby)).await);

    kernel.kill("victim", "test").unwrap();
    restarted(&kernel, "victim", 2).await;
    assert_ne!(kernel.status("victim").unwrap().pid, standby);
    let detail = started_detail(&kernel, "victim", 2);
    assert!(detail.contains("(spawned)"), "{detail}");
    assert_eq!(echo(&probe_ref, "after").await, 2);
    // The dead standby was reaped, and a new one follows.
    let next = standby_of(&kernel, "victim").await;
    assert_ne!(next, standby);
    assert!(
        eventually(Duration::from_secs(5), || support::children()
            .iter()
            .all(|&(_, state)| state != 'Z'))
        .await,
        "a zombie is left: {:?}",
        support::children()
    );
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn standby_false_keeps_none() {
    let kernel = boot(&format!(
        "{FAST}\n{}",
        probe("lean", Placement::Process, "standby = false")
    ))
    .await;
    let probe_ref = kernel.actor::<Probe>("lean").unwrap();
    kernel.kill("lean", "test").unwrap();
    restarted(&kernel, "lean", 2).await;
    assert!(started_detail(&kernel, "lean", 2).contains("(spawned)"));
    assert_eq!(echo(&probe_ref, "after").await, 2);
    // Well past the moment a standby would have been spawned.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(kernel.status("lean").unwrap().standby_pid, None);
    let pid = kernel.status("lean").unwrap().pid;
    let live: Vec<u32> = support::children()
        .into_iter()
        .filter(|&(_, state)| state != 'Z')
        .map(|(child, _)| child)
        .collect();
    assert_eq!(live, vec![pid], "only the instance runs");
    kernel.shutdown().await;
}
