//! OTP supervision, observed from outside: strategies, restart types,
//! intensity and escalation, backoff, start failures, shutdown order, and
//! detection of deaths the kernel did not cause.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::Duration;

use support::{FAST, boot, echo, eventually, probe};
use warden_kernel::probe::{Probe, ProbeMsg};
use warden_kernel::{CallError, Kernel, KernelConfig, Placement, Registry, State};

const P: Placement = Placement::Process;
const I: Placement = Placement::Inprocess;

fn generations(kernel: &Kernel) -> Vec<u64> {
    kernel.statuses().iter().map(|s| s.generation).collect()
}

async fn three(strategy: &str) -> Kernel {
    boot(&format!(
        "{}\nstrategy = \"{strategy}\"\n{}{}{}",
        FAST.trim_end(),
        probe("a", P, ""),
        probe("b", I, ""),
        probe("c", P, "")
    ))
    .await
}

async fn crash_b_and_settle(kernel: &Kernel, expected: &[u64]) {
    let b = kernel.actor::<Probe>("b").unwrap();
    assert!(b.call(ProbeMsg::Panic("b fails".into())).await.is_err());
    assert!(
        eventually(Duration::from_secs(5), || generations(kernel) == expected
            && kernel.statuses().iter().all(|s| s.state == State::Running))
        .await,
        "expected generations {expected:?}, got {:?}",
        kernel.statuses()
    );
}

fn kinds_for(kernel: &Kernel, kind: &str) -> Vec<String> {
    kernel
        .events_since(0)
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.actor)
        .collect()
}

#[actix_rt::test]
async fn one_for_one_restarts_only_the_failed_child() {
    let kernel = three("one_for_one").await;
    crash_b_and_settle(&kernel, &[1, 2, 1]).await;
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn one_for_all_restarts_every_child_in_order() {
    let kernel = three("one_for_all").await;
    crash_b_and_settle(&kernel, &[2, 2, 2]).await;
    // Siblings stop in reverse start order, then all start in start order.
    assert_eq!(kinds_for(&kernel, "stopped"), vec!["c", "a"]);
    assert_eq!(
        kinds_for(&kernel, "started"),
        vec!["a", "b", "c", "a", "b", "c"]
    );
    for name in ["a", "b", "c"] {
        assert_eq!(echo(&kernel.actor::<Probe>(name).unwrap(), name).await, 2);
    }
    kernel.shutdown().await;
}

/// OTP: a temporary child is never restarted, even when a sibling's failure
/// takes it down with it.
#[actix_rt::test]
async fn a_temporary_sibling_goes_down_with_the_group_and_stays_down() {
    for strategy in ["one_for_all", "rest_for_one"] {
        let kernel = boot(&format!(
            "{}\nstrategy = \"{strategy}\"\n{}{}{}",
            FAST.trim_end(),
            probe("a", P, ""),
            probe("b", I, ""),
            probe("c", P, "restart = \"temporary\"\n")
        ))
        .await;
        let b = kernel.actor::<Probe>("b").unwrap();
        assert!(b.call(ProbeMsg::Panic("b fails".into())).await.is_err());
        let settled = |k: &Kernel| {
            let s = k.statuses();
            s[1].generation == 2 && s[1].state == State::Running && s[2].state == State::Stopped
        };
        assert!(
            eventually(Duration::from_secs(5), || settled(&kernel)).await,
            "{strategy}: {:?}",
            kernel.statuses()
        );
        let c = &kernel.statuses()[2];
        assert_eq!(
            c.generation, 1,
            "{strategy}: the temporary child was restarted"
        );
        assert!(
            kernel
                .events_since(0)
                .iter()
                .any(|e| e.actor == "c" && e.detail.contains("temporary, not restarted")),
            "{strategy}"
        );
        assert_eq!(echo(&b, "b").await, 2);
        kernel.shutdown().await;
    }
}

#[actix_rt::test]
async fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let kernel = three("rest_for_one").await;
    crash_b_and_settle(&kernel, &[1, 2, 2]).await;
    assert_eq!(kinds_for(&kernel, "stopped"), vec!["c"]);
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn restart_types_follow_otp() {
    let kernel = boot(&format!(
        "{FAST}\n{}{}{}",
        probe("perm", P, "restart = \"permanent\""),
        probe("temp", P, "restart = \"temporary\""),
        probe("trans", I, "restart = \"transient\"")
    ))
    .await;
    let call = |name: &str, msg| {
        let actor = kernel.actor::<Probe>(name).unwrap();
        async move { actor.call(msg).await }
    };
    assert!(call("perm", ProbeMsg::Exit(0)).await.is_err());
    assert!(
        call("temp", ProbeMsg::Panic("temporary".into()))
            .await
            .is_err()
    );
    assert!(call("trans", ProbeMsg::Exit(0)).await.is_err());
    assert!(
        eventually(Duration::from_secs(5), || {
            let s = |n| kernel.status(n).unwrap();
            s("perm").generation == 2
                && s("perm").state == State::Running
                && s("temp").state == State::Failed
                && s("trans").state == State::Stopped
        })
        .await,
        "{:?}",
        kernel.statuses()
    );
    assert!(matches!(
        call("temp", ProbeMsg::Whoami).await,
        Err(CallError::Stopped(_))
    ));
    assert!(
        kernel.ready(),
        "every permanent actor runs; stopped non-permanent ones do not count"
    );
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn exceeding_the_intensity_escalates_and_stops_everything() {
    let kernel = boot(&format!(
        "[supervisor]\nheartbeat_ms = 100\nheartbeat_misses = 4\nmax_restarts = 2\nwithin_secs = 30\n{}{}",
        probe("steady", P, ""),
        probe("flaky", P, "")
    ))
    .await;
    let flaky = kernel.actor::<Probe>("flaky").unwrap();
    for n in 1..=3 {
        let _ = flaky.call(ProbeMsg::Panic(format!("crash {n}"))).await;
        if n < 3 {
            assert!(
                eventually(Duration::from_secs(5), || kernel
                    .status("flaky")
                    .unwrap()
                    .generation
                    == n + 1)
                .await
            );
        }
    }
    let reason = tokio::time::timeout(Duration::from_secs(10), kernel.escalated())
        .await
        .expect("the supervisor escalated");
    assert!(
        reason.starts_with("flaky exceeded the restart intensity"),
        "{reason}"
    );
    assert!(reason.contains("panicked: crash 3"), "{reason}");
    assert!(
        reason.contains("panicked: crash 1"),
        "last exits are named: {reason}"
    );
    assert!(
        kernel
            .statuses()
            .iter()
            .all(|s| matches!(s.state, State::Stopped | State::Failed))
    );
    let steady = kernel.actor::<Probe>("steady").unwrap();
    assert!(matches!(
        steady.call(ProbeMsg::Whoami).await,
        Err(CallError::Stopped(_))
    ));
    assert!(!kernel.ready());
}

#[actix_rt::test]
async fn quick_failures_back_off_exponentially() {
    let kernel = boot(&format!(
        "[supervisor]\nheartbeat_ms = 100\nheartbeat_misses = 4\nmax_restarts = 100\nbackoff_initial_ms = 40\nbackoff_max_ms = 100\n{}",
        probe("p", I, "")
    ))
    .await;
    let p = kernel.actor::<Probe>("p").unwrap();
    for n in 1..=4u64 {
        let _ = p.call(ProbeMsg::Panic("again".into())).await;
        assert!(
            eventually(Duration::from_secs(5), || kernel
                .status("p")
                .unwrap()
                .generation
                == n + 1)
            .await
        );
    }
    let delays: Vec<String> = kernel
        .events_since(0)
        .into_iter()
        .filter(|e| e.kind == "restarting")
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        delays,
        vec![
            "one_for_one restarts p after 0 ms",
            "one_for_one restarts p after 40 ms",
            "one_for_one restarts p after 80 ms",
            "one_for_one restarts p after 100 ms",
        ]
    );
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn a_child_killed_from_outside_is_detected_and_replaced() {
    let kernel = boot(&format!("{FAST}\n{}", probe("p", P, ""))).await;
    let p = kernel.actor::<Probe>("p").unwrap();
    let pid = support::pid_of(&p).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(3), || kernel
            .status("p")
            .unwrap()
            .generation
            == 2)
        .await
    );
    assert_ne!(support::pid_of(&p).await, pid);
    assert_eq!(
        kernel.status("p").unwrap().last_exit.as_deref(),
        Some("killed by SIGKILL")
    );
    assert!(!support::alive(pid), "the old child was reaped");
    kernel.shutdown().await;
}

#[actix_rt::test]
async fn shutdown_stops_children_in_reverse_start_order() {
    let kernel = three("one_for_one").await;
    let pids: Vec<u32> = kernel.statuses().iter().map(|s| s.pid).collect();
    kernel.shutdown().await;
    assert_eq!(kinds_for(&kernel, "stopped"), vec!["c", "b", "a"]);
    assert!(kernel.statuses().iter().all(|s| s.state == State::Stopped));
    assert!(
        !support::alive(pids[0]) && !support::alive(pids[2]),
        "children exited"
    );
}

async fn boot_error(toml: &str) -> String {
    Kernel::boot(
        KernelConfig::from_toml(toml, &Registry::with_builtins()).unwrap(),
        &Registry::with_builtins(),
        support::options(),
    )
    .await
    .unwrap_err()
    .to_string()
}

#[actix_rt::test]
async fn a_start_failure_at_boot_fails_the_boot_with_the_reason() {
    for placement in [I, P] {
        let err = boot_error(&format!(
            "{}{}",
            probe("ok", P, ""),
            probe("bad", placement, "fail_start = true")
        ))
        .await;
        assert!(err.contains("bad failed to start"), "{err}");
        assert!(err.contains("fail_start = true"), "{err}");
    }
}

#[actix_rt::test]
async fn a_start_that_takes_too_long_is_a_start_failure() {
    let err = boot_error(&format!(
        "[kernel]\nstart_timeout_ms = 300\n{}",
        probe("slow", P, "start_delay_ms = 5000")
    ))
    .await;
    assert!(err.contains("did not become ready within 300 ms"), "{err}");
}

/// The `restarting` events' details, in order.
fn restarts_logged(kernel: &Kernel) -> Vec<String> {
    kernel
        .events_since(0)
        .into_iter()
        .filter(|e| e.kind == "restarting")
        .map(|e| e.detail)
        .collect()
}

/// OTP: a child that fails to start during a restart is restarted again,
/// each attempt counting toward the intensity (here with backoff), until
/// the supervisor gives up and escalates naming the failed start.
#[actix_rt::test]
async fn a_start_that_fails_during_a_restart_backs_off_then_escalates() {
    for placement in [P, I] {
        let kernel = boot(&format!(
            "[supervisor]\nheartbeat_ms = 100\nheartbeat_misses = 4\nmax_restarts = 4\nwithin_secs = 60\nbackoff_initial_ms = 20\nbackoff_max_ms = 80\n{}{}",
            probe("steady", P, ""),
            probe("p", placement, "fail_start_from_generation = 2")
        ))
        .await;
        let p = kernel.actor::<Probe>("p").unwrap();
        assert_eq!(echo(&p, "first start works").await, 1);
        assert!(p.call(ProbeMsg::Panic("first exit".into())).await.is_err());
        let reason = tokio::time::timeout(Duration::from_secs(20), kernel.escalated())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{placement:?}: never escalated: {:?}",
                    kernel.events_since(0)
                )
            });
        assert!(
            reason.starts_with("p exceeded the restart intensity"),
            "{reason}"
        );
        assert!(reason.contains("panicked: first exit"), "{reason}");
        assert!(
            reason.contains("failed to start")
                && reason.contains("configured to fail at start from generation 2"),
            "the escalation names the failed start: {reason}"
        );
        // One restart for the exit, then one per failed start, each later
        // one backed off (the first quick failure restarts at once).
        assert_eq!(
            restarts_logged(&kernel),
            vec![
                "one_for_one restarts p after 0 ms",
                "one_for_one restarts p after 20 ms",
                "one_for_one restarts p after 40 ms",
                "one_for_one restarts p after 80 ms",
            ],
            "{placement:?}"
        );
        assert!(
            kernel
                .statuses()
                .iter()
                .all(|s| matches!(s.state, State::Stopped | State::Failed)),
            "{:?}",
            kernel.statuses()
        );
    }
}

/// OTP `one_for_all`: two children failing at once cost one group restart,
/// not two — the second exit belongs to an instance the group restart
/// stops anyway.
#[actix_rt::test]
async fn two_children_failing_at_once_restart_the_group_once() {
    let kernel = three("one_for_all").await;
    // Both kills land before the supervisor handles either exit (this
    // thread runs the supervisor, and `kill` does not yield).
    kernel.kill("a", "first of two").unwrap();
    kernel.kill("c", "second of two").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || generations(&kernel) == [2, 2, 2]
            && kernel.statuses().iter().all(|s| s.state == State::Running))
        .await,
        "{:?}",
        kernel.statuses()
    );
    // Settled: no second group restart follows.
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        generations(&kernel),
        [2, 2, 2],
        "{:?}",
        kernel.events_since(0)
    );
    assert_eq!(
        restarts_logged(&kernel).len(),
        1,
        "{:?}",
        restarts_logged(&kernel)
    );
    assert_eq!(
        kinds_for(&kernel, "started"),
        vec!["a", "b", "c", "a", "b", "c"]
    );
    for name in ["a", "b", "c"] {
        assert_eq!(echo(&kernel.actor::<Probe>(name).unwrap(), name).await, 2);
    }
    kernel.shutdown().await;
}

/// OTP `rest_for_one`: the first child failing restarts every child (those
/// after it stop in reverse order and all start in start order); the last
/// child failing restarts only itself.
#[actix_rt::test]
async fn rest_for_one_with_the_first_or_the_last_child_failing() {
    let kernel = three("rest_for_one").await;
    kernel.kill("a", "the first fails").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || generations(&kernel) == [2, 2, 2]
            && kernel.statuses().iter().all(|s| s.state == State::Running))
        .await,
        "{:?}",
        kernel.statuses()
    );
    assert_eq!(kinds_for(&kernel, "stopped"), vec!["c", "b"]);
    assert_eq!(
        kinds_for(&kernel, "started"),
        vec!["a", "b", "c", "a", "b", "c"]
    );
    kernel.kill("c", "the last fails").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || generations(&kernel) == [2, 2, 3]
            && kernel.statuses().iter().all(|s| s.state == State::Running))
        .await,
        "{:?}",
        kernel.statuses()
    );
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(generations(&kernel), [2, 2, 3]);
    assert_eq!(
        kinds_for(&kernel, "stopped"),
        vec!["c", "b"],
        "nothing else stopped"
    );
    kernel.shutdown().await;
}

/// An exit that arrives while another child's restart is in progress (its
/// start takes 400 ms) is queued, not lost: both are restarted once.
#[actix_rt::test]
async fn an_exit_during_a_restart_is_handled_after_it() {
    let kernel = boot(&format!(
        "{FAST}\n{}{}",
        probe("slow", P, "start_delay_ms = 400"),
        probe("quick", P, "")
    ))
    .await;
    kernel.kill("slow", "first").unwrap();
    assert!(
        eventually(Duration::from_secs(2), || kernel
            .status("slow")
            .unwrap()
            .state
            != State::Running)
        .await
    );
    // `slow` is starting again (400 ms): `quick` dies meanwhile.
    kernel.kill("quick", "during the restart").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || generations(&kernel) == [2, 2]
            && kernel.statuses().iter().all(|s| s.state == State::Running))
        .await,
        "{:?}",
        kernel.statuses()
    );
    let quick = kernel.status("quick").unwrap();
    assert_eq!(quick.restarts, 1);
    assert!(quick.last_exit.unwrap().contains("during the restart"));
    assert_eq!(echo(&kernel.actor::<Probe>("quick").unwrap(), "q").await, 2);
    assert_eq!(echo(&kernel.actor::<Probe>("slow").unwrap(), "s").await, 2);
    kernel.shutdown().await;
}
