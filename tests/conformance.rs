//! The actor contract, one suite, run in both placements: every behaviour a
//! caller can observe must be the same whether the actor runs on a thread of
//! the kernel or in a child process (only the pid differs).
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{FAST, boot, echo, eventually, probe};
use warden_kernel::probe::{Probe, ProbeEvent, ProbeMsg, ProbeReply, checksum};
use warden_kernel::{CallError, InjectedFault, Placement, SharedFrame, State, TellError};

async fn kernel(
    placement: Placement,
    extra: &str,
) -> (warden_kernel::Kernel, warden_kernel::ActorRef<Probe>) {
    let kernel = boot(&format!("{FAST}\n{}", probe("p", placement, extra))).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    (kernel, probe)
}

async fn echo_round_trips(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    assert_eq!(echo(&probe, "hello").await, 1);
    let pid = support::pid_of(&probe).await;
    match placement {
        Placement::Inprocess => assert_eq!(pid, std::process::id()),
        Placement::Process | Placement::Remote => {
            assert_ne!(pid, std::process::id());
            assert_eq!(kernel.status("p").unwrap().pid, pid);
        }
    }
    kernel.shutdown().await;
}

async fn large_frames_cross_without_copying_into_messages(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sum = checksum(&bytes);
    let frame = SharedFrame::from_vec(bytes);
    let reply = probe
        .call(ProbeMsg::EchoFrame {
            frame: frame.clone(),
            checksum: true,
        })
        .await
        .unwrap();
    let ProbeReply::Frame {
        frame: back,
        checksum: seen,
    } = reply
    else {
        panic!("unexpected reply");
    };
    assert_eq!(seen, sum, "the actor saw every byte");
    assert_eq!(back, frame);
    assert_eq!(
        back.in_shared_memory(),
        placement != Placement::Inprocess,
        "across processes a frame lives in the shared pool"
    );

    // A frame the actor allocates comes back too.
    let reply = probe
        .call(ProbeMsg::MakeFrame {
            len: 1 << 20,
            fill: 0x5A,
        })
        .await
        .unwrap();
    let ProbeReply::Frame {
        frame,
        checksum: sum,
    } = reply
    else {
        panic!("unexpected reply");
    };
    assert_eq!(frame.len(), 1 << 20);
    assert!(frame.iter().all(|b| *b == 0x5A));
    assert_eq!(checksum(&frame), sum);
    kernel.shutdown().await;
}

async fn errors_are_typed_and_keep_the_actor(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let err = probe
        .call(ProbeMsg::Reject("bad input".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason == "bad input"),
        "{err}"
    );
    let err = probe
        .call(ProbeMsg::Fail("no disk".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Failed { reason, .. } if reason == "no disk"),
        "{err}"
    );
    assert_eq!(
        echo(&probe, "still here").await,
        1,
        "no restart after an error reply"
    );
    let err = probe
        .call(ProbeMsg::Echo("x".repeat(100_000)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SharedFrame"), "{err}");
    kernel.shutdown().await;
}

async fn a_panic_fails_the_call_and_restarts_the_actor(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let err = probe
        .call(ProbeMsg::Panic("boom".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Failed { reason, .. } if reason.contains("panicked: boom")),
        "{err}"
    );
    assert_eq!(echo(&probe, "after").await, 2);
    let status = kernel.status("p").unwrap();
    assert_eq!(status.restarts, 1);
    assert_eq!(status.state, State::Running);
    let last_exit = status.last_exit.unwrap();
    assert!(last_exit.contains("panicked: boom"), "{last_exit}");
    kernel.shutdown().await;
}

async fn idempotent_calls_survive_a_kill_and_others_answer_restarting(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let slow = |idempotent| {
        let probe = probe.clone();
        actix_rt::spawn(async move {
            probe
                .call(ProbeMsg::Sleep {
                    ms: 200,
                    idempotent,
                })
                .await
        })
    };
    let safe = slow(true);
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    let unsafe_call = slow(false);
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    // Kill the way the admin API does: SIGKILL for a child; in-process, a
    // panic as soon as the current message is handled, so the queued call
    // behind it never runs.
    kernel.kill("p", "test kill").unwrap();
    let safe = safe.await.unwrap();
    assert_eq!(
        safe.unwrap(),
        ProbeReply::Slept,
        "answered (in-process) or re-sent to the next instance (process)"
    );
    let unsafe_result = unsafe_call.await.unwrap();
    assert!(
        matches!(unsafe_result, Err(CallError::Restarting(_))),
        "a call that is not idempotent is never run twice: {unsafe_result:?}"
    );
    assert!(echo(&probe, "x").await >= 2);
    kernel.shutdown().await;
}

async fn deadlines_are_kept(placement: Placement) {
    // Heartbeats of 1 s × 5: the 3 s handler is slow, not hung.
    let kernel = boot(&format!(
        "[supervisor]\nheartbeat_ms = 1000\nheartbeat_misses = 5\n{}",
        probe("p", placement, "")
    ))
    .await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let started = Instant::now();
    let err = probe
        .call_timeout(
            ProbeMsg::Sleep {
                ms: 3000,
                idempotent: true,
            },
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout { ms: 50, .. }), "{err}");
    // The caller got its answer long before the handler finished (a bound
    // with 2.5 s of slack for a busy machine, not a timing target).
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(2500), "waited {waited:?}");
    // The same instance answers once the handler is done: a timeout kills nothing.
    assert_eq!(echo(&probe, "later").await, 1);
    kernel.shutdown().await;
}

async fn a_full_mailbox_refuses_try_tell(placement: Placement) {
    let (kernel, probe) = kernel(placement, "mailbox = 4").await;
    let sleeper = {
        let probe = probe.clone();
        actix_rt::spawn(async move {
            probe
                .call(ProbeMsg::Sleep {
                    ms: 200,
                    idempotent: true,
                })
                .await
        })
    };
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    let mut full = false;
    for _ in 0..10 {
        match probe.try_tell(ProbeMsg::Sleep {
            ms: 1,
            idempotent: true,
        }) {
            Ok(()) => {}
            Err(TellError::Full(name)) => {
                assert_eq!(name, "p");
                full = true;
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(full, "a mailbox of 4 never filled");
    let err = probe.call(ProbeMsg::Echo("x".into())).await.unwrap_err();
    assert!(matches!(err, CallError::Rejected { .. }), "{err}");
    sleeper.await.unwrap().unwrap();
    assert!(
        eventually(Duration::from_secs(3), || probe.mailbox_depth() == 0).await,
        "the mailbox drained"
    );
    probe.tell(ProbeMsg::Echo("told".into())).await.unwrap();
    assert_eq!(echo(&probe, "drained").await, 1);
    kernel.shutdown().await;
}

async fn ticks_run_at_the_configured_rate(placement: Placement) {
    let (kernel, probe) = kernel(placement, "tick_ms = 20").await;
    let ticks = || async {
        match probe.call(ProbeMsg::Whoami).await.unwrap() {
            ProbeReply::Whoami { ticks, .. } => ticks,
            other => panic!("unexpected reply {other:?}"),
        }
    };
    // Polled with a deadline, not slept on: ten ticks come within 5 s
    // however busy the machine, and never faster than one per 20 ms.
    let started = Instant::now();
    let first = ticks().await;
    let mut now = first;
    while now < first + 10 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} ticks in 5 s at 20 ms",
            now - first
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        now = ticks().await;
    }
    let elapsed = started.elapsed();
    let most = elapsed.as_millis() as u64 / 20 + 2;
    assert!(
        now - first <= most,
        "{} ticks in {elapsed:?}: faster than one per 20 ms",
        now - first
    );
    kernel.shutdown().await;
}

async fn published_bursts_keep_the_newest_values(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let slow = kernel.subscribe::<ProbeEvent>("probe.events", 8);
    let ProbeReply::Published(n) = probe
        .call(ProbeMsg::Publish {
            topic: "probe.events".into(),
            count: 500,
        })
        .await
        .unwrap()
    else {
        panic!("unexpected reply");
    };
    assert_eq!(n, 500);
    assert!(
        eventually(Duration::from_secs(3), || kernel
            .bus()
            .counters("probe.events")
            .published
            == 500)
        .await,
        "every value reached the kernel"
    );
    let seen: Vec<u32> = std::iter::from_fn(|| slow.try_recv().map(|v| v.unwrap().seq)).collect();
    assert_eq!(seen, (492..500).collect::<Vec<_>>());
    assert_eq!(slow.dropped(), 492);
    let counters = kernel.bus().counters("probe.events");
    assert_eq!((counters.dropped, counters.delivered), (492, 8));
    kernel.shutdown().await;
}

async fn exit_codes_follow_the_restart_type(placement: Placement) {
    let kernel = boot(&format!(
        "{FAST}\n{}{}",
        probe("clean", placement, "restart = \"transient\""),
        probe("crash", placement, "restart = \"transient\"")
    ))
    .await;
    let clean = kernel.actor::<Probe>("clean").unwrap();
    let crash = kernel.actor::<Probe>("crash").unwrap();
    assert!(clean.call(ProbeMsg::Exit(0)).await.is_err());
    assert!(crash.call(ProbeMsg::Exit(3)).await.is_err());
    assert!(
        eventually(Duration::from_secs(5), || {
            kernel.status("clean").unwrap().state == State::Stopped
                && kernel.status("crash").unwrap().state == State::Running
                && kernel.status("crash").unwrap().generation == 2
        })
        .await,
        "{:?}",
        kernel.statuses()
    );
    assert!(matches!(
        clean.call(ProbeMsg::Whoami).await,
        Err(CallError::Stopped(_))
    ));
    assert!(
        kernel
            .status("crash")
            .unwrap()
            .last_exit
            .unwrap()
            .contains("exited with code 3")
    );
    kernel.shutdown().await;
}

async fn a_hung_actor_is_replaced(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let hung = {
        let probe = probe.clone();
        actix_rt::spawn(async move { probe.call(ProbeMsg::Hang).await })
    };
    let started = Instant::now();
    // heartbeat 100 ms × 4 misses: detected within 500 ms, plus the restart.
    assert!(
        eventually(Duration::from_secs(3), || kernel
            .status("p")
            .unwrap()
            .generation
            == 2
            && kernel.status("p").unwrap().state == State::Running)
        .await
    );
    let replaced = started.elapsed();
    assert!(
        replaced < Duration::from_millis(1500),
        "replaced after {replaced:?}"
    );
    assert!(matches!(hung.await.unwrap(), Err(CallError::Restarting(_))));
    assert!(
        kernel
            .status("p")
            .unwrap()
            .last_exit
            .unwrap()
            .starts_with("hung")
    );
    assert_eq!(echo(&probe, "alive").await, 2);
    kernel.shutdown().await;
}

/// A kill of an actor stuck in a message: a child is SIGKILLed; an
/// in-process instance cannot be interrupted, so it is abandoned once the
/// hang limit passes — a kill never leaves an actor stuck.
async fn a_killed_hung_actor_is_replaced(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    let hung = {
        let probe = probe.clone();
        actix_rt::spawn(async move { probe.call(ProbeMsg::Hang).await })
    };
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    kernel.kill("p", "test kill").unwrap();
    assert!(
        eventually(Duration::from_secs(3), || {
            let status = kernel.status("p").unwrap();
            status.generation == 2 && status.state == State::Running
        })
        .await
    );
    assert!(matches!(hung.await.unwrap(), Err(CallError::Restarting(_))));
    let last_exit = kernel.status("p").unwrap().last_exit.unwrap();
    assert!(last_exit.starts_with("test kill"), "{last_exit}");
    assert_eq!(echo(&probe, "alive").await, 2);
    kernel.shutdown().await;
}

async fn injected_host_faults_are_recovered(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    kernel.inject("p", InjectedFault::Panic).unwrap();
    assert!(
        eventually(Duration::from_secs(3), || kernel
            .status("p")
            .unwrap()
            .generation
            == 2)
        .await
    );
    kernel.inject("p", InjectedFault::Hang).unwrap();
    assert!(
        eventually(Duration::from_secs(3), || kernel
            .status("p")
            .unwrap()
            .generation
            == 3)
        .await
    );
    assert_eq!(echo(&probe, "after faults").await, 3);
    kernel.shutdown().await;
}

async fn notes(probe: &warden_kernel::ActorRef<Probe>) -> Vec<String> {
    match probe.call(ProbeMsg::Notes).await {
        Ok(ProbeReply::Notes(notes)) => notes,
        other => panic!("unexpected answer {other:?}"),
    }
}

/// A move hands the actor's state (its `snapshot`) to the next instance
/// (its `restore`), elsewhere and back; a crash hands nothing over.
async fn a_move_hands_over_the_state(placement: Placement) {
    let (kernel, probe) = kernel(placement, "").await;
    for text in ["one", "two"] {
        probe.call(ProbeMsg::Note(text.into())).await.unwrap();
    }
    let elsewhere = match placement {
        Placement::Inprocess => Placement::Process,
        _ => Placement::Inprocess,
    };
    let home = match placement {
        Placement::Remote => vec!["a".to_string()],
        _ => Vec::new(),
    };
    for (to, nodes) in [(elsewhere, Vec::new()), (placement, home)] {
        let before = kernel.status("p").unwrap().generation;
        kernel.relocate("p", to, nodes).await.unwrap();
        let status = kernel.status("p").unwrap();
        assert_eq!((status.placement, status.generation), (to, before + 1));
        let node = (to == Placement::Remote).then(|| "a".to_string());
        assert_eq!(status.node, node);
        assert_eq!(
            notes(&probe).await,
            ["one", "two"],
            "after the move to {to:?}"
        );
    }
    let handed = kernel
        .events_since(0)
        .into_iter()
        .filter(|event| event.kind == "handover")
        .count();
    assert!(
        handed >= 4,
        "each move says what it handed over and restored"
    );
    kernel.kill("p", "test: kill").unwrap();
    let fresh = support::eventually_async(Duration::from_secs(5), || async {
        let status = kernel.status("p").unwrap();
        (status.generation == 4 && status.state == State::Running).then_some(())
    })
    .await;
    assert!(fresh.is_some(), "restarted after the kill");
    assert!(notes(&probe).await.is_empty(), "a crash hands nothing over");
    kernel.shutdown().await;
}

macro_rules! in_both_placements {
    ($($case:ident),* $(,)?) => {
        mod inprocess {
            use warden_kernel::Placement;
            $( #[actix_rt::test] async fn $case() { super::$case(Placement::Inprocess).await } )*
        }
        mod process {
            use warden_kernel::Placement;
            $( #[actix_rt::test] async fn $case() { super::$case(Placement::Process).await } )*
        }
        mod remote {
            use warden_kernel::Placement;
            $( #[actix_rt::test] async fn $case() {
                if crate::support::ready(Placement::Remote) {
                    super::$case(Placement::Remote).await
                }
            } )*
        }
    };
}

in_both_placements!(
    echo_round_trips,
    large_frames_cross_without_copying_into_messages,
    errors_are_typed_and_keep_the_actor,
    a_panic_fails_the_call_and_restarts_the_actor,
    idempotent_calls_survive_a_kill_and_others_answer_restarting,
    deadlines_are_kept,
    a_full_mailbox_refuses_try_tell,
    ticks_run_at_the_configured_rate,
    published_bursts_keep_the_newest_values,
    exit_codes_follow_the_restart_type,
    a_hung_actor_is_replaced,
    a_killed_hung_actor_is_replaced,
    injected_host_faults_are_recovered,
    a_move_hands_over_the_state,
);

/// On 2 or more CPUs only the busy-polling reader ever runs, and children
/// run without backtraces: the whole suite runs again in a process of its
/// own with the blocking reader forced and `RUST_BACKTRACE=1` in every
/// child (a panic that prints a backtrace must still fit inside the
/// heartbeat window).
#[test]
fn the_suite_passes_with_the_blocking_reader_and_backtraces() {
    if std::env::var_os(warden_kernel::BLOCKING_READER_ENV).is_some() {
        return; // the run below: do not recurse
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--skip",
            "the_suite_passes_with_the_blocking_reader_and_backtraces",
            "--test-threads=2",
        ])
        .env(warden_kernel::BLOCKING_READER_ENV, "1")
        .env("WARDEN_TEST_CHILD_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the suite with the blocking reader and backtraces failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every case ran again (and none was filtered away by accident).
    let passed = stdout
        .lines()
        .filter(|l| l.starts_with("test ") && l.ends_with(" ok"))
        .count();
    assert!(passed >= 26, "only {passed} cases ran:\n{stdout}");
}
