//! `warden drill` and `warden bench ipc` run as users run them.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
mod support;

#[test]
fn a_drill_round_loses_nothing_and_recovers_every_fault() {
    let output = support::warden()
        .args(["drill", "--rounds", "1", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "drill failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["lost"], 0);
    assert_eq!(report["acks_lost"], 0);
    assert_eq!(report["kernel_crashes"], 0);
    assert_eq!(report["ok"], true);
    let actors = report["actors"].as_object().unwrap();
    // Every kind, each in both placements.
    let mut seen: Vec<(String, String)> = actors
        .values()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["placement"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = Vec::new();
    for kind in [
        "compositor",
        "fft",
        "image_decode",
        "perception",
        "probe",
        "store",
    ] {
        for placement in ["inprocess", "process"] {
            expected.push((kind.to_string(), placement.to_string()));
        }
    }
    assert_eq!(seen, expected);
    for (name, actor) in actors {
        assert_eq!(actor["faults"], 3, "{name}");
        assert_eq!(actor["restarts"], 3, "{name}");
        assert!(
            actor["calls_answered"].as_u64().unwrap() > 100,
            "{name} was under load"
        );
        assert_eq!(
            actor["calls_sent"].as_u64().unwrap(),
            actor["calls_answered"].as_u64().unwrap() + actor["calls_refused"].as_u64().unwrap(),
            "{name}"
        );
        if actor["kind"] == "store" {
            assert_eq!(actor["acks_lost"], 0, "{name}");
        } else {
            assert_eq!(
                actor["calls_refused"], 0,
                "{name}: only writes may be refused"
            );
        }
        assert!(actor["recovery_ms_p50"].as_f64().unwrap() > 0.0);
        assert!(
            actor["recovery_ms_max"].as_f64().unwrap()
                >= actor["recovery_ms_p50"].as_f64().unwrap()
        );
    }
}

#[test]
fn a_drill_of_a_system_that_cannot_recover_fails() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(
        &mut file,
        b"[supervisor]\nmax_restarts = 0\nwithin_secs = 1\nheartbeat_ms = 100\n[actors.probe]\nplacement = \"process\"\n",
    )
    .unwrap();
    let output = support::warden()
        .args(["drill", "--rounds", "1", "--json", "--config"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a drill past the intensity must fail"
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
    assert_eq!(report["ok"], false);
    assert!(
        report["escalated"]
            .as_str()
            .unwrap()
            .contains("probe exceeded the restart intensity")
    );
}

#[test]
fn bench_ipc_reports_every_figure() {
    let output = support::warden()
        .args([
            "bench",
            "ipc",
            "--json",
            "--calls",
            "300",
            "--restarts",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
    for key in [
        "process_call_p50_us",
        "process_call_p99_us",
        "uds_rtt_p50_us",
        "inprocess_call_p50_us",
        "actix_rtt_p50_us",
        "handoff_8mib_ms",
        "memcpy_8mib_ms",
        "restart_p50_ms",
        "spawn_floor_ms",
    ] {
        let value = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing"));
        assert!(value > 0.0 && value.is_finite(), "{key} = {value}");
    }
}
