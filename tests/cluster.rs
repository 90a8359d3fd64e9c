//! The remote placement on a real `nats-server` with real `warden node`
//! processes: failover when a node is killed, fencing when a node is cut
//! off and comes back, and moving a running actor in every direction under
//! call load with nothing lost or answered twice. (The actor contract in
//! this placement is `tests/conformance.rs`'s `remote` module.)
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use nix::sys::signal::Signal;
use support::cluster::TestCluster;
use support::{FAST, alive, eventually, eventually_async, probe};
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply};
use warden_kernel::{ActorRef, Kernel, Placement, State};

async fn whoami(probe: &ActorRef<Probe>) -> Option<(u32, u64)> {
    match probe.call(ProbeMsg::Whoami).await {
        Ok(ProbeReply::Whoami {
            pid, generation, ..
        }) => Some((pid, generation)),
        _ => None,
    }
}

async fn boot_on(cluster: &TestCluster, actors: &str) -> Kernel {
    support::boot(&format!("{FAST}\n{}\n{actors}", cluster.toml())).await
}

/// A kernel with probe `p` on node `a`, or `b` when `a` is gone.
async fn boot_on_a_then_b(cluster: &TestCluster) -> Kernel {
    let actor = probe("p", Placement::Remote, "").replace("node = \"a\"", "nodes = [\"a\", \"b\"]");
    boot_on(cluster, &actor).await
}

/// Node `a` is SIGKILLed (its children die with it): the actor answers
/// from node `b`, with no call lost (an idempotent call in flight is
/// re-sent, the others answer `Restarting`).
#[actix_rt::test]
async fn a_killed_node_moves_its_actors_to_another_node() {
    let Some(mut cluster) = TestCluster::start(&["a", "b"], None) else {
        return;
    };
    let kernel = boot_on_a_then_b(&cluster).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let (pid, generation) = whoami(&probe).await.unwrap();
    assert_eq!(kernel.status("p").unwrap().node.as_deref(), Some("a"));
    assert!(alive(pid), "the instance runs on node a's host (here)");

    let killed_at = Instant::now();
    cluster.kill_node("a");
    // An idempotent call sent into the failure is answered once, by b.
    let answered = probe
        .call(ProbeMsg::Echo("through the failover".into()))
        .await;
    let Ok(ProbeReply::Echo { generation: g, .. }) = answered else {
        panic!("an idempotent call was lost in the failover: {answered:?}");
    };
    assert!(g > generation);
    let moved = eventually(Duration::from_secs(10), || {
        kernel
            .status("p")
            .is_ok_and(|s| s.state == State::Running && s.node.as_deref() == Some("b"))
    })
    .await;
    assert!(moved, "status: {:?}", kernel.status("p"));
    eprintln!(
        "node a killed → answering on b after {:.0} ms",
        killed_at.elapsed().as_secs_f64() * 1e3
    );
    assert!(!alive(pid), "node a's child died with it");
    let last_exit = kernel.status("p").unwrap().last_exit.unwrap_or_default();
    assert!(
        last_exit.contains("node a") || last_exit.contains("heartbeat"),
        "the exit names why: {last_exit}"
    );
    kernel.shutdown().await;
}

/// One niced busy loop per core, for as long as it lives.
struct Hogs(Vec<std::process::Child>);

impl Hogs {
    fn start() -> Hogs {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hogs(
            (0..cores)
                .filter_map(|_| {
                    std::process::Command::new("nice")
                        .args(["-n", "10", "sh", "-c", "while :; do :; done"])
                        .spawn()
                        .ok()
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

/// Each node of an actor's list keeps a standby child of its kind before
/// it is needed — told by the kernel when the node joins, and again when
/// it comes back as a new process — so a failover there skips the exec and
/// the kind's warm-up.
#[actix_rt::test]
async fn the_nodes_of_an_actors_list_keep_a_standby_of_its_kind() {
    let Some(mut cluster) = TestCluster::start(&["a", "b"], None) else {
        return;
    };
    let kernel = boot_on_a_then_b(&cluster).await;
    let standbys = |node: &str| {
        kernel.cluster_status()["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["name"] == node)
            .and_then(|n| n["standbys"].as_array().cloned())
            .unwrap_or_default()
    };
    let warm = |node: &'static str| {
        let standbys = &standbys;
        move || standbys(node).iter().any(|kind| kind == "probe")
    };
    assert!(
        eventually(Duration::from_secs(5), warm("b")).await,
        "node b (never used yet) keeps a probe standby: {:?}",
        kernel.cluster_status()
    );
    cluster.kill_node("b");
    cluster.add_node("b");
    assert!(
        eventually(Duration::from_secs(5), warm("b")).await,
        "node b, started again, is told again: {:?}",
        kernel.cluster_status()
    );
    kernel.shutdown().await;
}

/// A start longer than the fence interval is not fenced: the kernel says
/// nothing to an instance while it starts, and a start may wait that long
/// for files that the instance it replaces holds until *it* is fenced (a
/// remote store after its kernel escalated and was restarted: the CI drill
/// saw the new kernel's store fenced while it waited for the old one's).
#[actix_rt::test]
async fn a_start_longer_than_the_fence_interval_is_not_fenced() {
    let Some(cluster) = TestCluster::start(&["a"], None) else {
        return;
    };
    // FAST's heartbeat bound (100 ms × (4 + 2)) + the 1 s node timeout:
    // a fence interval of 1.6 s, well inside a 2.5 s start.
    let kernel = boot_on(
        &cluster,
        &probe("p", Placement::Remote, "start_delay_ms = 2500"),
    )
    .await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    assert!(
        eventually_async(Duration::from_secs(15), || whoami(&probe))
            .await
            .is_some(),
        "the slow starter never answered: {:?}",
        kernel.status("p")
    );
    // Serving, and still its first instance: nothing fenced it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = kernel.status("p").unwrap();
    assert_eq!(
        (status.state, status.generation, status.restarts),
        (State::Running, 1, 0),
        "the slow start was fenced and restarted: last exit {:?}",
        status.last_exit
    );
    kernel.shutdown().await;
}

/// Killed again and again, a remote actor that sends frames restarts
/// once per kill: its next instance on the same node reuses the actor's
/// kept pool only after the killed child is reaped, so its first frame is
/// never refused as the replaced instance's (which cost the CI drill a
/// second restart after a kill or a hang, and its recovery bound).
#[actix_rt::test]
async fn a_remote_restart_on_the_same_node_sends_frames_at_once() {
    let Some(cluster) = TestCluster::start(&["a"], None) else {
        return;
    };
    let kernel = boot_on(&cluster, &probe("p", Placement::Remote, "")).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let frame = ProbeMsg::MakeFrame {
        len: 1 << 20,
        fill: 0x33,
    };
    // A busy machine (as under the drill) is when the node reaps the
    // killed child late: keep every core busy meanwhile, with niced
    // processes (the kernel must still answer its heartbeats).
    let hogs = Hogs::start();
    for kill in 1..=8u64 {
        let (_, before) = whoami(&probe).await.unwrap();
        kernel.kill("p", "test: kill").unwrap();
        // The kill is asynchronous (the proxy acts on it): a call made at
        // once may still be answered by the killed instance.
        let replaced = eventually(Duration::from_secs(10), || {
            kernel.status("p").is_ok_and(|s| s.generation > before)
        })
        .await;
        assert!(replaced, "kill {kill}: no new instance");
        let answered = eventually_async(Duration::from_secs(10), || async {
            matches!(
                probe.call(frame.clone()).await,
                Ok(ProbeReply::Frame { .. })
            )
            .then_some(())
        })
        .await;
        assert!(
            answered.is_some(),
            "kill {kill}: no frame from the new instance"
        );
        let status = kernel.status("p").unwrap();
        assert_eq!(
            status.generation,
            before + 1,
            "kill {kill}: one restart per kill (last exit: {:?})",
            status.last_exit
        );
        for _ in 0..20 {
            let reply = probe.call(frame.clone()).await;
            assert!(
                matches!(reply, Ok(ProbeReply::Frame { .. })),
                "kill {kill}: {reply:?}"
            );
        }
        let status = kernel.status("p").unwrap();
        assert_eq!(
            status.generation,
            before + 1,
            "kill {kill}: restarted again (last exit: {:?})",
            status.last_exit
        );
    }
    drop(hogs);
    kernel.shutdown().await;
}

/// A remote instance's end is reported after what it said before it: the
/// call that panicked it is answered with the panic (not `Restarting`, and
/// never re-sent to the next instance), and its exit gives the panic as the
/// reason — on a busy machine too, where the node's exit report can
/// overtake the kernel's reader.
#[actix_rt::test]
async fn a_remote_instances_last_words_come_before_its_end() {
    let Some(cluster) = TestCluster::start(&["a"], None) else {
        return;
    };
    let kernel = boot_on(&cluster, &probe("p", Placement::Remote, "")).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let hogs = Hogs::start();
    for round in 1..=6u64 {
        let (_, before) = whoami(&probe).await.unwrap();
        let answer = probe
            .call(ProbeMsg::Panic(format!("last words {round}")))
            .await;
        assert!(
            matches!(&answer, Err(warden_kernel::CallError::Failed { reason, .. }) if reason.contains("panicked")),
            "round {round}: the panicking call is answered with the panic: {answer:?}"
        );
        let status = support::restarted(&kernel, "p", before).await;
        let last_exit = status.last_exit.unwrap_or_default();
        assert!(
            last_exit.contains(&format!("last words {round}")),
            "round {round}: the exit gives the panic: {last_exit}"
        );
    }
    drop(hogs);
    kernel.shutdown().await;
}

/// A remote child that shuts its channel and lingers is killed by its node
/// (as the kernel kills a local one), not left to the heartbeat: with a
/// 5 s heartbeat it is replaced within a second or two.
#[actix_rt::test]
async fn a_remote_child_that_closes_its_channel_and_lingers_is_replaced_at_once() {
    let Some(cluster) = TestCluster::start(&["a"], None) else {
        return;
    };
    let kernel = boot_on(
        &cluster,
        &probe(
            "p",
            Placement::Remote,
            "heartbeat_ms = 5000\ncall_timeout_ms = 20000",
        ),
    )
    .await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let (pid, generation) = whoami(&probe).await.unwrap();
    let struck = Instant::now();
    kernel
        .inject("p", warden_kernel::InjectedFault::Linger)
        .unwrap();
    let (new_pid, new_generation) = eventually_async(Duration::from_secs(4), || async {
        whoami(&probe).await.filter(|(_, g)| *g > generation)
    })
    .await
    .expect("replaced well within the 15 s hang bound");
    assert_ne!(new_pid, pid);
    assert_eq!(new_generation, generation + 1);
    let last_exit = kernel.status("p").unwrap().last_exit.unwrap_or_default();
    assert!(last_exit.contains("closed its channel"), "{last_exit}");
    assert!(!alive(pid), "the lingering child was killed");
    eprintln!("lingering remote child replaced in {:?}", struck.elapsed());
    kernel.shutdown().await;
}

/// Node `a` is stopped (SIGSTOP: to the kernel it is cut off). The actor
/// starts on `b`. When `a` continues, its stale instance is killed (the
/// fence), and it never answers a call: every answer after the failover
/// comes from `b`'s instance.
#[actix_rt::test]
async fn a_node_that_comes_back_never_serves_beside_its_replacement() {
    let Some(mut cluster) = TestCluster::start(&["a", "b"], None) else {
        return;
    };
    let kernel = boot_on_a_then_b(&cluster).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let (old_pid, _) = whoami(&probe).await.unwrap();
    cluster.signal_node("a", Signal::SIGSTOP);
    let moved = eventually_async(Duration::from_secs(15), || async {
        match whoami(&probe).await {
            Some((pid, generation)) if pid != old_pid => Some((pid, generation)),
            _ => None,
        }
    })
    .await;
    let (new_pid, new_generation) = moved.expect("the actor moved to node b");
    assert_eq!(kernel.status("p").unwrap().node.as_deref(), Some("b"));
    assert!(
        alive(old_pid),
        "the stale instance still runs while its node is stopped"
    );
    cluster.signal_node("a", Signal::SIGCONT);
    let stop = Arc::new(AtomicBool::new(false));
    // Calls keep flowing while node a wakes up: all answered by b's instance.
    let mut answers = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline && alive(old_pid) {
        answers.push(whoami(&probe).await);
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        !alive(old_pid),
        "node a killed its stale instance within 6 s of waking"
    );
    for answer in answers {
        assert_eq!(answer, Some((new_pid, new_generation)));
    }
    // Node a is usable again for a later start, and b still serves.
    assert_eq!(whoami(&probe).await, Some((new_pid, new_generation)));
    kernel.shutdown().await;
}

/// Moving a running actor in every direction, under call load from four
/// callers: every call is answered, none is re-sent, and answers come from
/// one instance at a time (the generation a caller sees never goes back).
#[actix_rt::test]
async fn moves_in_every_direction_under_load_lose_and_repeat_nothing() {
    let Some(cluster) = TestCluster::start(&["a", "b"], None) else {
        return;
    };
    let kernel = boot_on(&cluster, &probe("p", Placement::Process, "")).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for caller in 0..4 {
        let probe = probe.clone();
        let stop = Arc::clone(&stop);
        callers.push(actix_rt::spawn(async move {
            let (mut calls, mut last_generation) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let text = format!("{caller}/{calls}");
                match probe.call(ProbeMsg::Echo(text.clone())).await {
                    Ok(ProbeReply::Echo {
                        text: back,
                        generation,
                        ..
                    }) => {
                        assert_eq!(back, text);
                        assert!(
                            generation >= last_generation,
                            "an older instance answered after a newer one"
                        );
                        last_generation = generation;
                    }
                    other => panic!("call {text} was not answered: {other:?}"),
                }
                calls += 1;
            }
            calls
        }));
    }
    let moves: [(&str, Option<&str>); 6] = [
        ("remote", Some("a")),
        ("inprocess", None),
        ("remote", Some("b")),
        ("remote", Some("a")),
        ("process", None),
        ("inprocess", None),
    ];
    let mut pauses = Vec::new();
    for (placement, node) in moves {
        actix_rt::time::sleep(Duration::from_millis(150)).await;
        let placement: Placement =
            serde_json::from_value(serde_json::Value::String(placement.into())).unwrap();
        let nodes: Vec<String> = node.into_iter().map(String::from).collect();
        let started = Instant::now();
        kernel
            .relocate("p", placement, nodes.clone())
            .await
            .unwrap_or_else(|err| panic!("move to {placement:?} {nodes:?}: {err}"));
        pauses.push(started.elapsed());
        let status = kernel.status("p").unwrap();
        assert_eq!(status.placement, placement);
        assert_eq!(status.node, nodes.first().cloned());
        assert_eq!(status.state, State::Running);
    }
    actix_rt::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for caller in callers {
        total += caller.await.unwrap();
    }
    let metrics = kernel.metrics_text();
    let resent: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("warden_calls_resent_total") && line.contains("\"p\""))
        .filter_map(|line| line.rsplit(" ").next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(resent, 0.0, "no call was re-sent during the moves");
    assert!(total > 100, "the callers kept calling ({total} calls)");
    eprintln!("{total} calls through 6 moves; move times {pauses:?}");
    kernel.shutdown().await;
}

/// A remote actor whose nodes are all absent does not start, and says
/// which nodes it waited for; a bad `[cluster]` is refused with its key.
#[actix_rt::test]
async fn an_absent_node_and_a_bad_cluster_are_named() {
    let Some(cluster) = TestCluster::start(&[], None) else {
        return;
    };
    let config = support::config(&format!(
        "{FAST}\n{}\n{}",
        cluster.toml(),
        probe("p", Placement::Remote, "").replace("node = \"a\"", "node = \"nowhere\"")
    ));
    let booted = Kernel::boot(
        config,
        &warden_kernel::Registry::with_builtins(),
        support::options(),
    )
    .await;
    let Err(err) = booted else {
        panic!("no node, no start");
    };
    let text = err.to_string();
    assert!(
        text.contains("nowhere") && text.contains("never heard"),
        "{text}"
    );

    let registry = warden_kernel::Registry::with_builtins();
    for (toml, key) in [
        (
            "[cluster]\nnats_url = \"http://x\"".to_string(),
            "cluster.nats_url",
        ),
        (
            "[cluster]\nnats_urls = \"nats://x:1\"".to_string(),
            "cluster",
        ),
        (probe("p", Placement::Remote, ""), "actors.p.placement"),
        (
            format!(
                "{}\n{}",
                cluster.toml(),
                probe("p", Placement::Process, "node = \"a\"")
            ),
            "actors.p.node",
        ),
        (
            format!(
                "{}\n[actors.p]\nkind = \"probe\"\nplacement = \"remote\"",
                cluster.toml()
            ),
            "actors.p.node",
        ),
    ] {
        let err = warden_kernel::KernelConfig::from_toml(&toml, &registry)
            .err()
            .unwrap_or_else(|| panic!("accepted: {toml}"));
        assert!(err.key.starts_with(key), "{toml}\n→ {err}");
    }
}

/// Anyone who can publish on the cluster's subjects can send garbage: on an
/// instance's subject it is a protocol fault (the instance is replaced, the
/// kernel stays up); to a node's start subject it is answered with an error;
/// malformed heartbeats, kills and fences are ignored. The subjects are
/// found the way an intruder would, by listening.
#[actix_rt::test]
async fn garbage_on_the_cluster_subjects_never_harms_the_kernel_or_a_node() {
    let Some(cluster) = TestCluster::start(&["a"], None) else {
        return;
    };
    let kernel = boot_on(&cluster, &probe("p", Placement::Remote, "")).await;
    let probe = kernel.actor::<Probe>("p").unwrap();
    let client = async_nats::connect(cluster.url.as_str()).await.unwrap();
    let mut sniff = client
        .subscribe(format!("{}.inst.>", cluster.prefix))
        .await
        .unwrap();
    client.flush().await.unwrap();
    // Random bytes, a truncated hop, an unknown tag, a chunk out of order.
    for garbage in [
        vec![0xFFu8; 48],
        vec![0u8, 200, 0, 0, 0, 1, 2],
        vec![9u8; 3],
        vec![1u8, 5, 0, 0, 0, 9, 0, 0, 0, 7],
    ] {
        let before = kernel.status("p").unwrap().generation;
        // The current instance's subject: `….p.GENERATION-ATTEMPT.up`.
        support::echo(&probe, "traffic to sniff").await;
        let up = loop {
            let message = actix_rt::time::timeout(Duration::from_secs(5), sniff.next())
                .await
                .expect("the instance's traffic was seen")
                .unwrap();
            if message.subject.ends_with(".up")
                && message.subject.contains(&format!(".p.{before}-"))
            {
                break message.subject.to_string();
            }
        };
        client.publish(up, garbage.into()).await.unwrap();
        client.flush().await.unwrap();
        let replaced = eventually(Duration::from_secs(10), || {
            kernel
                .status("p")
                .is_ok_and(|s| s.generation > before && s.state == State::Running)
        })
        .await;
        assert!(
            replaced,
            "a garbage message replaced the instance: {:?}\n{:#?}",
            kernel.status("p"),
            kernel.events_since(0)
        );
        let events = kernel.events_since(0);
        assert!(
            events.iter().any(|e| e.detail.contains("tunnel fault")),
            "the fault is named"
        );
        support::echo(&probe, "after garbage").await;
    }
    // Garbage to the node: a start request that does not decode is refused
    // in words; kills, fences and heartbeats that do not decode are ignored.
    let refused = client
        .request(
            format!("{}.node.a.start", cluster.prefix),
            vec![1u8, 2, 3].into(),
        )
        .await
        .unwrap();
    assert!(!refused.payload.is_empty());
    for subject in [
        format!("{}.node.a.ctl", cluster.prefix),
        format!("{}.fence", cluster.prefix),
        format!("{}.node.a.beat", cluster.prefix),
    ] {
        client
            .publish(subject, vec![0xAAu8; 100].into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    let generation = kernel.status("p").unwrap().generation;
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(kernel.status("p").unwrap().generation, generation);
    assert_eq!(kernel.status("p").unwrap().node.as_deref(), Some("a"));
    let nodes = kernel.cluster_status();
    assert_eq!(nodes["nodes"][0]["name"], "a");
    assert_eq!(nodes["nodes"][0]["up"], true, "{nodes}");
    support::echo(&probe, "the node still serves").await;
    assert_eq!(
        warden_kernel::panics::outside_actors(),
        0,
        "a panic outside actors in this test binary (a failed assertion in a test running beside this one counts too: look for it first)"
    );
    kernel.shutdown().await;
}
