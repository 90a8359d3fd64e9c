//! What actors do between themselves — requests whose answers arrive later,
//! tells, topic subscriptions, frames — in all four combinations of
//! placements (in↔in, in→child, child→in, child↔child), with one suite. The
//! actor code (the probe) is the same in every case; only the pids differ.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{FAST, boot, eventually_async};
use warden_kernel::probe::{Answer, Probe, ProbeEvent, ProbeMsg, ProbeReply, checksum};
use warden_kernel::{ActorRef, CallError, Kernel, Placement};

const WAIT: Duration = Duration::from_secs(10);

/// Probe `a` (2 slots of 2 MiB) asks probe `b` (4 slots).
/// A remote actor's node line (each actor on its own node).
fn on_node(placement: Placement, node: &str) -> String {
    if placement == Placement::Remote {
        format!("node = \"{node}\"\n")
    } else {
        String::new()
    }
}

async fn pair(from: Placement, to: Placement) -> (Kernel, ActorRef<Probe>, ActorRef<Probe>) {
    let config = format!(
        "{FAST}
[actors.a]
kind = \"probe\"
placement = \"{}\"
{}shm_slots = 2
shm_slot_bytes = 2_097_152
call_timeout_ms = 5000

[actors.b]
kind = \"probe\"
placement = \"{}\"
{}shm_slots = 4
shm_slot_bytes = 2_097_152
call_timeout_ms = 5000
",
        from.as_str(),
        on_node(from, "a"),
        to.as_str(),
        on_node(to, "b"),
    );
    let kernel = boot(&config).await;
    let a = kernel.actor::<Probe>("a").unwrap();
    let b = kernel.actor::<Probe>("b").unwrap();
    (kernel, a, b)
}

async fn ask(a: &ActorRef<Probe>, msg: ProbeMsg) -> u64 {
    match a.call(msg).await.unwrap() {
        ProbeReply::Asked(id) => id,
        other => panic!("unexpected {other:?}"),
    }
}

/// Wait for the answer to request `id` (answers to others are kept in `seen`).
async fn answer(a: &ActorRef<Probe>, id: u64, seen: &mut Vec<Answer>) -> Answer {
    let deadline = Instant::now() + WAIT;
    loop {
        if let ProbeReply::Answers(answers) = a.call(ProbeMsg::Answers).await.unwrap() {
            seen.extend(answers);
        }
        if let Some(at) = seen.iter().position(|answer| answer.id == id) {
            return seen.remove(at);
        }
        assert!(
            Instant::now() < deadline,
            "no answer to request {id} within {WAIT:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Wait until `b` has received values on `topic` up to `until` (all taken).
async fn events(b: &ActorRef<Probe>, topic: &str, until: u32) -> Vec<ProbeEvent> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        if let ProbeReply::Events(more) = b.call(ProbeMsg::Received(topic.into())).await.unwrap() {
            seen.extend(more);
        }
        if seen.iter().any(|event: &ProbeEvent| event.seq == until) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: no value {until} within {WAIT:?}; got {seen:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn pid(probe: &ActorRef<Probe>) -> u32 {
    support::pid_of(probe).await
}

async fn a_request_is_answered_later_by_the_target(from: Placement, to: Placement) {
    let (kernel, a, b) = pair(from, to).await;
    let id = ask(
        &a,
        ProbeMsg::Ask {
            target: "b".into(),
            msg: Box::new(ProbeMsg::Echo("across".into())),
            timeout_ms: 0,
        },
    )
    .await;
    let got = answer(&a, id, &mut Vec::new()).await;
    assert_eq!(got.target, "b");
    match got.result {
        Ok(ProbeReply::Echo { text, pid: by, .. }) => {
            assert_eq!(text, "across");
            assert_eq!(by, pid(&b).await, "answered by b");
        }
        other => panic!("unexpected {other:?}"),
    }
    kernel.shutdown().await;
}

async fn unknown_targets_and_wrong_kinds_are_rejected(from: Placement, to: Placement) {
    let (kernel, a, _b) = pair(from, to).await;
    let id = ask(
        &a,
        ProbeMsg::Ask {
            target: "nobody".into(),
            msg: Box::new(ProbeMsg::Whoami),
            timeout_ms: 0,
        },
    )
    .await;
    let got = answer(&a, id, &mut Vec::new()).await;
    assert!(
        matches!(&got.result, Err(CallError::Rejected { reason, .. }) if reason.contains("no actor named")),
        "{got:?}"
    );
    kernel.shutdown().await;
}

async fn deadlines_are_kept_between_actors(from: Placement, to: Placement) {
    let (kernel, a, _b) = pair(from, to).await;
    let id = ask(
        &a,
        ProbeMsg::Ask {
            target: "b".into(),
            msg: Box::new(ProbeMsg::Sleep {
                ms: 300,
                idempotent: false,
            }),
            timeout_ms: 50,
        },
    )
    .await;
    let got = answer(&a, id, &mut Vec::new()).await;
    assert!(
        matches!(got.result, Err(CallError::Timeout { ms: 50, .. })),
        "{got:?}"
    );
    kernel.shutdown().await;
}

async fn a_target_restart_resends_idempotent_requests_and_fails_the_others(
    from: Placement,
    to: Placement,
) {
    let (kernel, a, b) = pair(from, to).await;
    let before = pid(&b).await;
    let sleep = |idempotent| ProbeMsg::Ask {
        target: "b".into(),
        msg: Box::new(ProbeMsg::Sleep {
            ms: 300,
            idempotent,
        }),
        timeout_ms: 0,
    };
    let unsafe_ = ask(&a, sleep(false)).await;
    let safe = ask(&a, sleep(true)).await;
    // Both are with b (one running, one queued) when it is killed.
    assert!(
        support::eventually(WAIT, || kernel.status("b").unwrap().mailbox_depth >= 2).await,
        "both requests reached b"
    );
    kernel.kill("b", "test").unwrap();
    let mut seen = Vec::new();
    let first = answer(&a, unsafe_, &mut seen).await;
    match to {
        // A child is killed mid-message: the request in flight is lost.
        Placement::Process | Placement::Remote => assert!(
            matches!(first.result, Err(CallError::Restarting(_))),
            "{first:?}"
        ),
        // An in-process target dies at its next message boundary: the
        // request it was handling may have finished.
        Placement::Inprocess => assert!(
            matches!(
                first.result,
                Err(CallError::Restarting(_)) | Ok(ProbeReply::Slept)
            ),
            "{first:?}"
        ),
    }
    let second = answer(&a, safe, &mut seen).await;
    assert!(matches!(second.result, Ok(ProbeReply::Slept)), "{second:?}");
    assert_eq!(kernel.status("b").unwrap().restarts, 1);
    if to != Placement::Inprocess {
        assert_ne!(pid(&b).await, before);
    }
    kernel.shutdown().await;
}

/// The frame `a` makes is read by `b` and comes back. Between two children
/// it crosses without any copy: `b` maps `a`'s pool.
async fn frames_cross_between_actors(from: Placement, to: Placement) {
    let (kernel, a, _b) = pair(from, to).await;
    let len = 1_500_000;
    let id = ask(
        &a,
        ProbeMsg::AskFrame {
            target: "b".into(),
            len,
            fill: 0x42,
            keep: false,
        },
    )
    .await;
    let got = answer(&a, id, &mut Vec::new()).await;
    match got.result {
        Ok(ProbeReply::Frame {
            frame,
            checksum: sum,
        }) => {
            assert_eq!(frame.len(), len);
            assert!(frame.iter().all(|byte| *byte == 0x42));
            assert_eq!(sum, checksum(&vec![0x42; len]), "b read every byte");
        }
        other => panic!("unexpected {other:?}"),
    }
    let metrics = kernel.metrics_text();
    let copies = |actor: &str| {
        metrics
            .lines()
            .find(|line| {
                line.starts_with(&format!("warden_frame_copies_total{{actor=\"{actor}\"}}"))
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no frame_copies for {actor} in\n{metrics}"))
    };
    if from == Placement::Process && to == Placement::Process {
        assert_eq!(copies("a"), 0, "the kernel copied nothing into a's pool");
        assert_eq!(copies("b"), 0, "the kernel copied nothing into b's pool");
    }
    if from == Placement::Inprocess && to == Placement::Process {
        assert_eq!(copies("b"), 1, "a heap frame is copied once, into b's pool");
    }
    kernel.shutdown().await;
}

/// A consumer that keeps a producer's frames holds its slots; when the
/// consumer dies they are released.
async fn a_dead_consumer_releases_what_it_held(from: Placement, to: Placement) {
    let (kernel, a, b) = pair(from, to).await;
    for _ in 0..2 {
        let id = ask(
            &a,
            ProbeMsg::AskFrame {
                target: "b".into(),
                len: 4096,
                fill: 1,
                keep: true,
            },
        )
        .await;
        let got = answer(&a, id, &mut Vec::new()).await;
        assert!(matches!(got.result, Ok(ProbeReply::Kept(_))), "{got:?}");
    }
    let make = || a.call(ProbeMsg::MakeFrame { len: 4096, fill: 2 });
    // A remote b keeps copies on its own host: a's slots are free again
    // once a frame has crossed.
    if from != Placement::Inprocess && to != Placement::Remote {
        // Both of a's slots are held by b: a frame a makes now cannot cross
        // (it is refused, not copied or lost).
        let err = make().await.unwrap_err();
        assert!(
            err.to_string().contains("slots of this side are in use"),
            "{err}"
        );
    }
    let before = kernel.status("b").unwrap().generation;
    kernel.kill("b", "test").unwrap();
    assert!(
        support::eventually(WAIT, || {
            let status = kernel.status("b").unwrap();
            status.generation > before && status.state == warden_kernel::State::Running
        })
        .await,
        "b restarted"
    );
    let freed = eventually_async(WAIT, || async {
        match make().await {
            Ok(ProbeReply::Frame { frame, .. }) => {
                Some(frame.in_shared_memory() == (from != Placement::Inprocess))
            }
            _ => None,
        }
    })
    .await;
    assert_eq!(freed, Some(true), "b's death gave a its slots back");
    assert_eq!(
        b.call(ProbeMsg::ReleaseKept).await.unwrap(),
        ProbeReply::Kept(0)
    );
    kernel.shutdown().await;
}

async fn subscriptions_deliver_published_values_in_order(from: Placement, to: Placement) {
    let (kernel, a, b) = pair(from, to).await;
    assert_eq!(
        b.call(ProbeMsg::Follow {
            topic: "t".into(),
            capacity: 16,
        })
        .await
        .unwrap(),
        ProbeReply::Following
    );
    // A tell from a to b makes b publish; a also publishes itself.
    assert_eq!(
        a.call(ProbeMsg::TellTo {
            target: "b".into(),
            msg: Box::new(ProbeMsg::Publish {
                topic: "t".into(),
                count: 3,
            }),
        })
        .await
        .unwrap(),
        ProbeReply::Told
    );
    let got = events(&b, "t", 2).await;
    let seqs: Vec<u32> = got.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    // A slow follower keeps the newest values.
    a.call(ProbeMsg::Publish {
        topic: "t".into(),
        count: 100,
    })
    .await
    .unwrap();
    let tail = events(&b, "t", 99).await;
    assert!(tail.len() <= 100 && tail.last().unwrap().seq == 99);
    let seqs: Vec<u32> = tail.iter().map(|event| event.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    kernel.shutdown().await;
}

macro_rules! combinations {
    ($($case:ident),* $(,)?) => {
        mod in_to_in {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Inprocess, Placement::Inprocess).await })*
        }
        mod in_to_child {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Inprocess, Placement::Process).await })*
        }
        mod child_to_in {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Process, Placement::Inprocess).await })*
        }
        mod child_to_child {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Process, Placement::Process).await })*
        }
        mod in_to_remote {
            use super::*;
            $(#[actix_rt::test] async fn $case() {
                if support::ready(Placement::Remote) {
                    super::$case(Placement::Inprocess, Placement::Remote).await
                }
            })*
        }
        mod child_to_remote {
            use super::*;
            $(#[actix_rt::test] async fn $case() {
                if support::ready(Placement::Remote) {
                    super::$case(Placement::Process, Placement::Remote).await
                }
            })*
        }
        mod remote_to_child {
            use super::*;
            $(#[actix_rt::test] async fn $case() {
                if support::ready(Placement::Remote) {
                    super::$case(Placement::Remote, Placement::Process).await
                }
            })*
        }
        mod remote_to_remote {
            use super::*;
            $(#[actix_rt::test] async fn $case() {
                if support::ready(Placement::Remote) {
                    super::$case(Placement::Remote, Placement::Remote).await
                }
            })*
        }
    };
}

combinations!(
    a_request_is_answered_later_by_the_target,
    unknown_targets_and_wrong_kinds_are_rejected,
    deadlines_are_kept_between_actors,
    a_target_restart_resends_idempotent_requests_and_fails_the_others,
    frames_cross_between_actors,
    a_dead_consumer_releases_what_it_held,
    subscriptions_deliver_published_values_in_order,
);
