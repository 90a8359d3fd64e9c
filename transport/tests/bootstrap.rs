//! The handshake hazards with real child processes: `IpcOneShotServer::accept`
//! hangs forever if the child dies before connecting, or never connects.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use warden_transport::bootstrap::{BootstrapError, ChildCommand, spawn};

fn sh(script: &str) -> ChildCommand {
    ChildCommand {
        program: PathBuf::from("/bin/sh"),
        // sh -c SCRIPT NAME ARGS...: the bootstrap arguments become $1.. and are ignored.
        args: vec![
            OsString::from("-c"),
            OsString::from(script),
            OsString::from("child"),
        ],
        env: Vec::new(),
    }
}

fn socket_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.join("socket").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

#[test]
fn a_child_that_dies_before_connecting_does_not_hang_the_parent() {
    let before = socket_dirs();
    let started = Instant::now();
    let err = spawn(&sh("exit 3"), Duration::from_secs(10)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    match err {
        BootstrapError::ExitedEarly(reason) => assert_eq!(reason, "exited with code 3"),
        other => panic!("expected ExitedEarly, got {other}"),
    }
    // Other tests in this binary create servers concurrently: poll until
    // every directory that appeared since `before` is gone again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leftover: Vec<_> = socket_dirs()
            .into_iter()
            .filter(|dir| !before.contains(dir))
            .collect();
        if leftover.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "socket directories left: {leftover:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_child_that_never_connects_is_killed_at_the_deadline() {
    let started = Instant::now();
    let err = spawn(&sh("sleep 30"), Duration::from_millis(300)).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, BootstrapError::Timeout(_)), "{err}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[test]
fn a_program_that_does_not_exist_is_a_clear_error() {
    let command = ChildCommand {
        program: PathBuf::from("/nonexistent/warden"),
        args: vec![],
        env: Vec::new(),
    };
    let err = spawn(&command, Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/warden"), "{err}");
}

#[test]
fn a_child_killed_by_a_signal_is_described_by_name() {
    let err = spawn(&sh("kill -9 $$"), Duration::from_secs(5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "child exited before connecting (killed by SIGKILL)"
    );
}
