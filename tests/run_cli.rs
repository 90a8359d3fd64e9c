//! `warden run` and `warden check-config` as users run them: the real
//! binary, its admin API over real HTTP, signals, and its children.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
mod support;

use std::io::Write as _;
use std::time::Duration;

use support::{eventually, get_json, post, run, warden};

const TOKEN: &str = "test-token-123";

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn probe_pid(running: &support::Running) -> u64 {
    actor_pid(running, "probe")
}

fn actor_pid(running: &support::Running, name: &str) -> u64 {
    get_json(&running.url(&format!("/api/actors/{name}"))).1["pid"]
        .as_u64()
        .unwrap()
}

/// A system of one probe in a child process.
fn probe_config() -> tempfile::NamedTempFile {
    config_file(
        "[actors.probe]\nplacement = \"process\"\nshm_slots = 2\nshm_slot_bytes = 1_048_576\n",
    )
}

fn run_probe() -> support::Running {
    let config = probe_config();
    let running = run(&["--config", config.path().to_str().unwrap()], Some(TOKEN));
    drop(config); // read at start
    running
}

#[test]
fn the_default_config_boots_the_five_concern_actors_in_both_placements() {
    let running = run(&[], Some(TOKEN));
    assert!(eventually(Duration::from_secs(10), || get_json(
        &running.url("/readyz")
    )
    .0 == 200));
    let (status, actors) = get_json(&running.url("/api/actors"));
    assert_eq!(status, 200);
    let actors = actors.as_array().unwrap();
    let mut kinds: Vec<&str> = actors.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["compositor", "fft", "image_decode", "perception", "store"]
    );
    let placements: Vec<&str> = actors
        .iter()
        .map(|a| a["placement"].as_str().unwrap())
        .collect();
    assert!(placements.contains(&"process") && placements.contains(&"inprocess"));
    assert!(placements.iter().filter(|p| **p == "process").count() >= 2);
    for actor in actors {
        assert_eq!(actor["state"], "running", "{actor}");
        let pid = actor["pid"].as_u64().unwrap();
        if actor["placement"] == "process" {
            assert_ne!(pid, u64::from(running.child.id()));
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
            assert_eq!(
                exe,
                std::fs::canonicalize(env!("CARGO_BIN_EXE_warden")).unwrap(),
                "children run the very binary of the kernel"
            );
        } else {
            assert_eq!(pid, u64::from(running.child.id()));
        }
    }
    // The table it printed names each actor with its kind and placement.
    let mut table = Vec::new();
    while let Ok(line) = running.lines.recv_timeout(Duration::from_millis(200)) {
        table.push(line);
    }
    for actor in actors {
        let name = actor["name"].as_str().unwrap();
        assert!(
            table.iter().any(|line| line.starts_with(name)
                && line.contains(actor["kind"].as_str().unwrap())
                && line.contains(actor["placement"].as_str().unwrap())),
            "{name} in {table:?}"
        );
    }
    // The store's files are where the default config says.
    assert!(running.dir.path().join("warden-data/scene").is_dir());
    assert!(running.terminate().success());
}

#[test]
fn killing_each_concern_actor_gives_a_new_instance_that_serves() {
    let running = run(&[], Some(TOKEN));
    for name in ["store", "image_decode", "fft", "perception", "compositor"] {
        let before = get_json(&running.url(&format!("/api/actors/{name}"))).1;
        let (status, body) = post(
            &running.url(&format!("/api/actors/{name}/kill")),
            Some(TOKEN),
        );
        assert_eq!(status, 202, "{name}: {body}");
        let generation = before["generation"].as_u64().unwrap();
        assert!(
            eventually(Duration::from_secs(10), || {
                let now = get_json(&running.url(&format!("/api/actors/{name}"))).1;
                now["state"] == "running"
                    && now["generation"].as_u64() > Some(generation)
                    // Its loop turns: heartbeats are answered in mailbox order.
                    && now["heartbeat_age_ms"].as_u64().is_some_and(|age| age < 1000)
            }),
            "{name}: {}",
            get_json(&running.url(&format!("/api/actors/{name}"))).1
        );
        let after = get_json(&running.url(&format!("/api/actors/{name}"))).1;
        if before["placement"] == "process" {
            assert_ne!(after["pid"], before["pid"], "{name}: a new child");
        }
        assert_eq!(after["restarts"].as_u64(), Some(1), "{name}");
    }
    assert!(running.terminate().success());
}

#[test]
fn the_admin_api_answers_with_the_probe_in_a_child() {
    let running = run_probe();
    let (status, health) = get_json(&running.url("/healthz"));
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert!(eventually(Duration::from_secs(5), || get_json(
        &running.url("/readyz")
    )
    .0 == 200));

    let (status, actors) = get_json(&running.url("/api/actors"));
    assert_eq!(status, 200);
    let probe = &actors[0];
    for key in [
        "name",
        "placement",
        "state",
        "pid",
        "restarts",
        "last_exit",
        "mailbox_depth",
        "heartbeat_age_ms",
        "uptime_ms",
    ] {
        assert!(probe.get(key).is_some(), "{key} missing in {probe}");
    }
    assert_eq!(probe["name"], "probe");
    assert_eq!(probe["placement"], "process");
    assert_eq!(probe["state"], "running");
    // Values, not only shapes: a fresh system has restarted nothing, lost
    // nothing, owes nothing, and its heartbeat is fresh (the default
    // heartbeat is 200 ms).
    assert_eq!(probe["restarts"].as_u64(), Some(0), "{probe}");
    assert!(probe["last_exit"].is_null(), "{probe}");
    assert_eq!(probe["mailbox_depth"].as_u64(), Some(0), "{probe}");
    // Null until the first heartbeat is answered, then fresh.
    let mut age = None;
    assert!(
        eventually(Duration::from_secs(5), || {
            age = get_json(&running.url("/api/actors/probe")).1["heartbeat_age_ms"].as_u64();
            age.is_some()
        }),
        "no heartbeat answered: {probe}"
    );
    let age = age.unwrap_or_default();
    assert!(age < 2 * 200, "heartbeat {age} ms old: {probe}");
    let uptime = probe["uptime_ms"].as_u64().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            get_json(&running.url("/api/actors/probe")).1["uptime_ms"].as_u64() > Some(uptime)
        }),
        "uptime does not grow"
    );
    let pid = probe["pid"].as_u64().unwrap();
    assert_ne!(
        pid,
        u64::from(running.child.id()),
        "the probe runs in a child"
    );
    // Spawned from /proc/self/exe: the very binary that runs the kernel.
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        exe,
        std::fs::canonicalize(env!("CARGO_BIN_EXE_warden")).unwrap()
    );

    let (status, missing) = get_json(&running.url("/api/actors/nope"));
    assert_eq!(status, 404);
    assert!(missing["error"].as_str().unwrap().contains("nope"));
    let (status, _) = get_json(&running.url("/api/nothing"));
    assert_eq!(status, 404);

    let (status, spec) = get_json(&running.url("/api/openapi.json"));
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/actors/{name}/kill"].is_object());
    let page = support::http()
        .get(&running.url("/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(page.contains("<title>Warden</title>"));

    let status = running.terminate();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    assert!(eventually(Duration::from_secs(5), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    }));
}

#[test]
fn kill_needs_the_token_and_yields_a_new_pid() {
    let running = run_probe();
    let pid = probe_pid(&running);

    let (status, body) = post(&running.url("/api/actors/probe/kill"), None);
    assert_eq!(status, 401, "{body}");
    let (status, _) = post(&running.url("/api/actors/probe/kill"), Some("wrong"));
    assert_eq!(status, 401);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        probe_pid(&running),
        pid,
        "nothing changed without the token"
    );

    let (status, body) = post(&running.url("/api/actors/probe/kill"), Some(TOKEN));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["pid"].as_u64(), Some(pid));
    // Within the bound: detection and restart take milliseconds.
    assert!(
        eventually(Duration::from_secs(2), || {
            let probe = get_json(&running.url("/api/actors/probe")).1;
            probe["restarts"].as_u64() >= Some(1)
                && probe["state"] == "running"
                && probe["pid"].as_u64() != Some(pid)
        }),
        "{}",
        get_json(&running.url("/api/actors/probe")).1
    );
    let probe = get_json(&running.url("/api/actors/probe")).1;
    assert!(
        probe["last_exit"]
            .as_str()
            .unwrap()
            .contains("killed by SIGKILL")
    );

    let (status, body) = post(&running.url("/api/actors/probe/restart"), None);
    assert_eq!(status, 401, "a restart needs the token too: {body}");
    let (status, body) = post(&running.url("/api/actors/probe/restart"), Some("wrong"));
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        get_json(&running.url("/api/actors/probe")).1["restarts"].as_u64(),
        Some(1),
        "a refused restart restarted nothing"
    );
    let (status, body) = post(&running.url("/api/actors/probe/restart"), Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get_json(&running.url("/api/actors/probe")).1["restarts"].as_u64(),
        Some(2)
    );

    let (_, events) = get_json(&running.url("/api/events?since=0"));
    let events = events.as_array().unwrap();
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    assert!(events.iter().any(|e| e["kind"] == "killed"));
    let last = ids[ids.len() - 2];
    let (_, newer) = get_json(&running.url(&format!("/api/events?since={last}")));
    assert_eq!(newer.as_array().unwrap().len(), 1);
    let (status, _) = get_json(&running.url("/api/events?since=-1"));
    assert_eq!(status, 400);

    let metrics = support::http()
        .get(&running.url("/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("warden_restarts_total{actor=\"probe\"} 2"),
        "{metrics}"
    );
    // Nobody called the probe: no call is counted; the kill was not a
    // heartbeat miss. Every family is described for a scraper.
    assert!(
        metrics
            .lines()
            .filter(|l| l.starts_with("warden_calls_total{") && l.contains("actor=\"probe\""))
            .all(|l| l.ends_with(" 0")),
        "{metrics}"
    );
    assert!(
        !metrics.lines().any(
            |l| l.starts_with("warden_heartbeat_misses_total{actor=\"probe\"}")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    for family in [
        "warden_calls_total",
        "warden_call_latency_seconds",
        "warden_heartbeat_misses_total",
        "warden_restarts_total",
    ] {
        assert!(
            metrics.contains(&format!("# HELP {family} ")),
            "{family} missing"
        );
    }
    assert!(running.terminate().success());
}

/// `/readyz` answers 503 naming the actor while it restarts (the probe
/// spends 1.5 s in `start`), and 200 again once it runs.
#[test]
fn readiness_falls_while_an_actor_restarts() {
    let config = config_file("[actors.probe]\nplacement = \"process\"\nstart_delay_ms = 1500\n");
    let running = run(&["--config", config.path().to_str().unwrap()], Some(TOKEN));
    assert!(eventually(Duration::from_secs(10), || get_json(
        &running.url("/readyz")
    )
    .0 == 200));
    let (status, ready) = get_json(&running.url("/readyz"));
    assert_eq!((status, &ready["ready"]), (200, &serde_json::json!(true)));
    assert_eq!(ready["not_running"], serde_json::json!([]));
    let (status, body) = post(&running.url("/api/actors/probe/kill"), Some(TOKEN));
    assert_eq!(status, 202, "{body}");
    let mut seen = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(2), || {
            let (status, body) = get_json(&running.url("/readyz"));
            seen = body;
            status == 503
        }),
        "never unready during a 1.5 s start"
    );
    assert_eq!(seen["ready"], false, "{seen}");
    assert_eq!(seen["not_running"][0]["name"], "probe", "{seen}");
    assert!(eventually(Duration::from_secs(10), || get_json(
        &running.url("/readyz")
    )
    .0 == 200));
    assert_eq!(
        get_json(&running.url("/healthz")).0,
        200,
        "a restart is not an escalation"
    );
    assert!(running.terminate().success());
}

#[test]
fn a_non_loopback_admin_address_without_a_token_is_refused() {
    let output = warden()
        .args(["run", "--admin", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve the admin API on 0.0.0.0:0 without a token"),
        "{stderr}"
    );
}

#[test]
fn escalation_stops_warden_with_a_non_zero_exit_naming_the_actor() {
    let config =
        config_file("[supervisor]\nmax_restarts = 0\n[actors.probe]\nplacement = \"process\"\n");
    let mut running = run(&["--config", config.path().to_str().unwrap()], Some(TOKEN));
    let (status, _) = post(&running.url("/api/actors/probe/kill"), Some(TOKEN));
    assert_eq!(status, 202);
    let status =
        support::wait_exit(&mut running.child, Duration::from_secs(10)).expect("warden exits");
    assert_eq!(status.code(), Some(1));
    let stderr = running.stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("error: the supervisor escalated: probe exceeded the restart intensity"),
        "{stderr}"
    );
    assert!(
        stderr.contains("last exits: killed through the admin API; killed by SIGKILL"),
        "{stderr}"
    );
}

#[test]
fn children_die_with_the_kernel() {
    let running = run(&[], Some(TOKEN));
    let pid = actor_pid(&running, "perception");
    let kernel = nix::unistd::Pid::from_raw(running.child.id() as i32);
    nix::sys::signal::kill(kernel, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| stat.contains(") Z"))
                .unwrap_or(true)
        }),
        "a child outlived a SIGKILLed kernel"
    );
}

#[test]
fn check_config_names_the_bad_key() {
    let good = config_file("[actors.probe]\nplacement = \"process\"\n");
    let output = warden()
        .args(["check-config"])
        .arg(good.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("ok"));

    for (text, needle) in [
        (
            "[actors.probe]\nplacment = \"process\"\n",
            "actors.probe.placment: unknown field `placment`",
        ),
        (
            "[actors.probe]\nplacement = \"elsewhere\"\n",
            "actors.probe.placement",
        ),
        (
            "[cluster]\n[actors.probe]\nplacement = \"remote\"\n",
            "actors.probe.node: placement = \"remote\" needs",
        ),
        (
            "[actors.probe]\nplacement = \"remote\"\nnode = \"a\"\n",
            "actors.probe.placement: \"remote\" needs a [cluster] table",
        ),
        (
            "[cluster]\nnats_url = \"localhost:4222\"\n",
            "cluster.nats_url",
        ),
        (
            "[supervisor]\nwithin_secs = 0\n",
            "supervisor.within_secs: must be at least 1",
        ),
        ("[actors.probe\n", "line 1"),
        (
            "[actors.fft]\nbars = 0\n",
            "actors.fft.bars: invalid bars = 0",
        ),
        ("[actors.fft]\nbarz = 3\n", "actors.fft.barz: unknown field"),
        (
            "[actors.fft.generator]\nbpm = 1000\n",
            "actors.fft.generator.bpm: invalid bpm = 1000",
        ),
        (
            "[actors.perception]\nfps = 0\n",
            "actors.perception.fps: 0 is outside (0, 60]",
        ),
        (
            "[actors.image_decode]\nsize = \"huge\"\n",
            "actors.image_decode.size",
        ),
        (
            "[actors.image_decode]\nsource = \"feed\"\n",
            "actors.image_decode.feed_url",
        ),
        (
            "[actors.compositor]\ntransitions = [\"swirl\"]\n",
            "actors.compositor.transitions",
        ),
        (
            "[actors.store]\nhistory = 0\n",
            "actors.store.history: must be at least 1",
        ),
    ] {
        let bad = config_file(text);
        let output = warden()
            .args(["check-config"])
            .arg(bad.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{text}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The embedded default is a valid config file as it stands.
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/src/default.toml");
    let output = warden().args(["check-config", default]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for kind in ["store", "image_decode", "fft", "perception", "compositor"] {
        assert!(stdout.contains(&format!("({kind})")), "{stdout}");
    }

    let output = warden()
        .args(["check-config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent.toml"));
}
