//! Helpers for tests that boot a kernel in the test process with children
//! running the real `warden` binary (`warden worker`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::future::Future;
use std::time::{Duration, Instant};

use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply};
use warden_kernel::{ActorRef, Kernel, KernelConfig, KernelOptions, Placement, Registry};

/// Options that spawn children from the built `warden` binary. Children
/// get `RUST_BACKTRACE=0` (these tests panic on purpose, hundreds of times)
/// unless `WARDEN_TEST_CHILD_BACKTRACE` names another value: the
/// conformance suite runs once with `1`, so a panic that symbolises a
/// backtrace is tested too.
pub fn options() -> KernelOptions {
    // The binary's panic hook, so that an in-process actor's panic is
    // reported here as in `warden run` (its backtrace, when RUST_BACKTRACE
    // asks, symbolised off the actor's thread).
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| warden_kernel::panics::install_hook(warden_image::panic_is_contained));
    let backtrace = std::env::var("WARDEN_TEST_CHILD_BACKTRACE").unwrap_or_else(|_| "0".into());
    KernelOptions {
        worker_program: env!("CARGO_BIN_EXE_warden").into(),
        worker_args: vec!["worker".into()],
        worker_env: vec![("RUST_BACKTRACE".into(), backtrace.into())],
    }
}

#[path = "cluster.rs"]
pub mod cluster;

/// Parse a config with the builtin registry.
pub fn config(toml: &str) -> KernelConfig {
    KernelConfig::from_toml(toml, &Registry::with_builtins()).unwrap()
}

/// Boot a kernel from TOML. A config with a remote actor and no
/// `[cluster]` runs on the test binary's shared cluster (nodes `a`, `b`).
pub async fn boot(toml: &str) -> Kernel {
    let mut toml = toml.to_string();
    if toml.contains("placement = \"remote\"") && !toml.contains("[cluster]") {
        let shared = cluster::shared().expect("a remote test checks remote_ready() first");
        toml.push_str(&shared.lock().unwrap().toml());
    }
    Kernel::boot(config(&toml), &Registry::with_builtins(), options())
        .await
        .unwrap()
}

/// A supervisor section with a fast heartbeat (hung after 400 ms of
/// silence: a handler in these tests never runs longer than 200 ms, and a
/// panic's backtrace is symbolised off the actor's thread), generous intensity.
pub const FAST: &str = r#"
[supervisor]
heartbeat_ms = 100
heartbeat_misses = 4
max_restarts = 1000
within_secs = 10
backoff_initial_ms = 1
backoff_max_ms = 5
"#;

/// One probe actor table (a remote one on node `a`).
pub fn probe(name: &str, placement: Placement, extra: &str) -> String {
    let node = if placement == Placement::Remote {
        "node = \"a\"\n"
    } else {
        ""
    };
    format!(
        "[actors.{name}]\nkind = \"probe\"\nplacement = \"{}\"\n{node}shm_slots = 4\nshm_slot_bytes = 4_194_304\n{extra}\n",
        placement.as_str()
    )
}

/// Whether a test in `placement` can run here (remote: nats-server is
/// installed; the shared cluster is started).
pub fn ready(placement: Placement) -> bool {
    placement != Placement::Remote || cluster::shared().is_some()
}

/// Poll `check` every 5 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Poll an async `check` until it yields `Some` or `within` passes.
pub async fn eventually_async<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Echo `text` and return the generation that answered.
pub async fn echo(probe: &ActorRef<Probe>, text: &str) -> u64 {
    match probe.call(ProbeMsg::Echo(text.into())).await.unwrap() {
        ProbeReply::Echo {
            text: back,
            generation,
            ..
        } => {
            assert_eq!(back, text);
            generation
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

/// The pid answering the probe.
pub async fn pid_of(probe: &ActorRef<Probe>) -> u32 {
    match probe.call(ProbeMsg::Whoami).await.unwrap() {
        ProbeReply::Whoami { pid, .. } => pid,
        other => panic!("unexpected reply {other:?}"),
    }
}

/// Whether process `pid` exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Children of this process (from /proc), zombies included.
pub fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit(')').next() else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1 && fields[1].parse::<u32>().ok() == Some(me) {
            found.push((pid, fields[0].chars().next().unwrap_or('?')));
        }
    }
    found
}

/// Open file descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A registry with the probe and the five concern actors, as the binary has.
pub fn full_registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry
        .register::<warden_image::actor::ImageDecode>()
        .register::<warden_fft::actor::FftActor>()
        .register::<warden_store::actor::StoreActor>()
        .register::<warden_perception::actor::PerceptionActor>()
        .register::<warden_compositor::Compositor>();
    registry
}

/// Boot a kernel from TOML with every actor kind registered.
pub async fn boot_full(toml: &str) -> Kernel {
    let config = KernelConfig::from_toml(toml, &full_registry()).unwrap();
    Kernel::boot(config, &full_registry(), options())
        .await
        .unwrap()
}

/// Wait until actor `name` runs a generation after `before`; returns its status.
pub async fn restarted(kernel: &Kernel, name: &str, before: u64) -> warden_kernel::ActorStatus {
    let ok = eventually(Duration::from_secs(10), || {
        let status = kernel.status(name).unwrap();
        status.generation > before && status.state == warden_kernel::State::Running
    })
    .await;
    assert!(ok, "{name} did not restart: {:?}", kernel.status(name));
    kernel.status(name).unwrap()
}
