//! The ipc-channel hazards measured on this machine, each provoked on
//! purpose against the real kernel and the real `warden worker` child.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{FAST, echo, eventually, probe};
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply, checksum};
use warden_kernel::{CallError, Kernel, KernelConfig, Placement, Registry, SharedFrame, TellError};

const P: Placement = Placement::Process;

async fn boot_with(toml: &str, worker_args: &[&str]) -> Result<Kernel, warden_kernel::KernelError> {
    let mut options = support::options();
    options.worker_args = worker_args.iter().map(Into::into).collect();
    Kernel::boot(
        KernelConfig::from_toml(toml, &Registry::with_builtins()).unwrap(),
        &Registry::with_builtins(),
        options,
    )
    .await
}

/// A >212 KB inline send never returns if the receiver dies mid-transfer:
/// nothing large goes inline, and killing the child in the middle of
/// multi-megabyte handoffs never blocks a caller beyond its deadline.
#[actix_rt::test]
async fn large_handoffs_to_a_dying_child_never_block() {
    let kernel = support::boot(&format!("{FAST}\n{}", probe("p", P, ""))).await;
    let p = kernel.actor::<Probe>("p").unwrap();
    let frame = SharedFrame::from_vec(vec![0xA5; 3 << 20]);
    let sum = checksum(&frame);
    let mut answered = 0;
    for round in 0..12 {
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let p = p.clone();
                let frame = frame.clone();
                actix_rt::spawn(async move {
                    let started = Instant::now();
                    let result = p
                        .call_timeout(
                            ProbeMsg::EchoFrame {
                                frame,
                                checksum: true,
                            },
                            Duration::from_secs(5),
                        )
                        .await;
                    (result, started.elapsed())
                })
            })
            .collect();
        if round % 2 == 0 {
            kernel.kill("p", "kill during handoff").unwrap();
        }
        for call in calls {
            let (result, took) = call.await.unwrap();
            assert!(took < Duration::from_secs(5), "a call blocked for {took:?}");
            match result {
                Ok(ProbeReply::Frame { checksum: seen, .. }) => {
                    assert_eq!(seen, sum, "a frame arrived damaged");
                    answered += 1;
                }
                other => panic!("idempotent echo lost: {other:?}"),
            }
        }
    }
    assert_eq!(answered, 36);
    kernel.shutdown().await;
}

/// A hung receiver blocks `send` after ~278 messages: the kernel never
/// sends on the caller's thread beyond a credit window, refuses when the
/// mailbox is full, stays responsive, and kills the child that stalls.
#[actix_rt::test]
async fn a_hung_child_never_blocks_the_kernel() {
    let kernel = support::boot(&format!(
        "{FAST}\n{}{}",
        probe("stuck", P, "mailbox = 100000"),
        probe("other", P, "")
    ))
    .await;
    let stuck = kernel.actor::<Probe>("stuck").unwrap();
    let other = kernel.actor::<Probe>("other").unwrap();
    let hang = {
        let stuck = stuck.clone();
        actix_rt::spawn(async move { stuck.call(ProbeMsg::Hang).await })
    };
    actix_rt::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let mut refused = 0;
    for n in 0..10_000 {
        match stuck.try_tell(ProbeMsg::Echo(format!("tell {n}"))) {
            Ok(()) => {}
            Err(TellError::Full(_)) | Err(TellError::Stopped(_)) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "10,000 tells took {:?}",
        started.elapsed()
    );
    // Far more than the ~278 sends that would block a bare ipc-channel
    // sender were accepted (queued behind the credit window) without blocking.
    assert!(
        10_000 - refused > 278,
        "only {} tells accepted",
        10_000 - refused
    );
    // The kernel answers for other actors meanwhile.
    assert_eq!(echo(&other, "responsive").await, 1);
    // And replaces the stuck child.
    assert!(matches!(hang.await.unwrap(), Err(CallError::Restarting(_))));
    assert!(
        eventually(Duration::from_secs(5), || kernel
            .status("stuck")
            .unwrap()
            .generation
            == 2)
        .await
    );
    assert_eq!(echo(&stuck, "fresh").await, 2);
    kernel.shutdown().await;
}

/// `IpcOneShotServer::accept` hangs forever if the child dies before it
/// connects: the start fails quickly, with the child's exit status.
#[actix_rt::test]
async fn a_child_that_dies_before_connecting_fails_its_start_quickly() {
    let started = Instant::now();
    let err = boot_with(&probe("p", P, ""), &["worker", "--misbehave", "exit-early"])
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.contains("child exited before connecting (exited with code 9)"),
        "{err}"
    );
}

/// A send right after the child died can return `Ok` and be lost: every
/// call has a deadline, and calls in flight at the death are re-sent
/// (idempotent) — none of 400 concurrent echoes is lost across a SIGKILL.
#[actix_rt::test]
async fn calls_in_flight_across_a_sigkill_are_not_lost() {
    let kernel = support::boot(&format!("{FAST}\n{}", probe("p", P, "mailbox = 10000"))).await;
    let p = kernel.actor::<Probe>("p").unwrap();
    let calls: Vec<_> = (0..400)
        .map(|n| {
            let p = p.clone();
            actix_rt::spawn(async move { (n, p.call(ProbeMsg::Echo(format!("call {n}"))).await) })
        })
        .collect();
    actix_rt::time::sleep(Duration::from_millis(2)).await;
    let pid = kernel.status("p").unwrap().pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for call in calls {
        let (n, result) = call.await.unwrap();
        match result {
            Ok(ProbeReply::Echo { text, .. }) => assert_eq!(text, format!("call {n}")),
            other => panic!("call {n} lost: {other:?}"),
        }
    }
    kernel.shutdown().await;
}

/// One malformed message must not take the kernel down (ipc-channel's
/// router would panic its thread): the child is killed and restarted, and
/// when every instance misbehaves the supervisor escalates — the kernel
/// itself survives to say so.
#[actix_rt::test]
async fn a_child_sending_garbage_is_killed_not_the_kernel() {
    for (misbehave, expected) in [
        ("garbage", "malformed frame"),
        ("bad-release", "bad frame handle"),
    ] {
        let kernel = boot_with(
            &format!(
                "[supervisor]\nmax_restarts = 3\nwithin_secs = 60\n{}",
                probe("p", P, "")
            ),
            &["worker", "--misbehave", misbehave],
        )
        .await
        .unwrap();
        let reason = tokio::time::timeout(Duration::from_secs(10), kernel.escalated())
            .await
            .expect("escalation");
        assert!(reason.contains(expected), "{misbehave}: {reason}");
        let faults = kernel
            .events_since(0)
            .into_iter()
            .filter(|e| e.kind == "killed" && e.detail.contains("protocol fault"))
            .count();
        assert_eq!(
            faults, 4,
            "{misbehave}: every instance was killed for its fault"
        );
    }
}

/// More than 64 channels or regions in one message is an `assert!` in
/// ipc-channel: frames never travel as regions, and a value referring to
/// more frames than the limit is refused before anything is sent.
#[actix_rt::test]
async fn too_many_frames_in_one_value_are_refused_before_sending() {
    let frames: Vec<SharedFrame> = (0..65)
        .map(|i| SharedFrame::from_vec(vec![i as u8; 16]))
        .collect();
    let err = warden_transport::encode_value(&frames).unwrap_err();
    assert!(err.to_string().contains("65 shared frames"), "{err}");
    let ok: Vec<SharedFrame> = frames.into_iter().take(64).collect();
    assert_eq!(
        warden_transport::encode_value(&ok).unwrap().frames.len(),
        64
    );
}

/// Hostile messages from a child, over many seeds (the `fuzz-SEED`
/// misbehaviour: after its handshake every instance sends 64 messages —
/// random bytes of any length up to 200 KB, and well-formed envelopes that
/// are wrong: replies to no call, releases and frame handles it does not
/// own, requests to actors that do not exist, subscriptions with huge
/// capacities, repeated `Ready`s, oversized names — then serves). The
/// kernel never panics and never escalates; a child is killed only for a
/// protocol fault; a call to it is answered or fails typed within its
/// deadline; the actor beside it in the kernel keeps answering.
#[actix_rt::test]
async fn hostile_messages_from_a_child_never_harm_the_kernel() {
    let mut killed = 0;
    for seed in 1..=16u64 {
        let kernel = boot_with(
            &format!(
                "{FAST}\n{}{}",
                probe("p", P, ""),
                probe("q", Placement::Inprocess, "")
            ),
            &["worker", "--misbehave", &format!("fuzz-{seed}")],
        )
        .await
        .unwrap();
        let q = kernel.actor::<Probe>("q").unwrap();
        let p = kernel.actor::<Probe>("p").unwrap();
        let mut answered = 0;
        for round in 0..10 {
            echo(&q, &format!("seed {seed} round {round}")).await;
            let answer = tokio::time::timeout(
                Duration::from_secs(10),
                p.call(ProbeMsg::Echo(format!("{round}"))),
            )
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a call to p hung"));
            if let Ok(ProbeReply::Echo { text, .. }) = &answer {
                assert_eq!(text, &format!("{round}"));
                answered += 1;
            }
            actix_rt::time::sleep(Duration::from_millis(30)).await;
        }
        assert_eq!(kernel.escalation(), None, "seed {seed}");
        let mut faults = Vec::new();
        for event in kernel.events_since(0) {
            if event.kind == "killed" {
                killed += 1;
                faults.push(event.detail.clone());
                assert!(
                    event.detail.contains("protocol fault"),
                    "seed {seed}: {event:?}"
                );
            }
        }
        eprintln!("seed {seed}: {answered}/10 calls answered; killed for {faults:?}");
        kernel.shutdown().await;
    }
    assert!(killed > 0, "some hostile message was a protocol fault");
}
