//! Backend selection on the machine at hand: `auto` takes the CPU path on a
//! software adapter (or none) and wgpu on hardware, says which and why, and
//! logs it; forced `wgpu` takes whatever adapter exists.

use std::io::Write;
use std::sync::{Arc, Mutex};

use warden_renderer::{
    Backend, BackendRequest, ChoiceReason, Compositor, DemotionLevel, Renderer, RendererOptions,
    select_backend,
};

/// Collects what the `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn auto_picks_by_adapter_kind_and_logs_the_reason() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let choice = tracing::subscriber::with_default(subscriber, || {
        select_backend(BackendRequest::Auto).expect("auto never fails")
    });
    let log = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("utf8");
    assert!(log.contains("renderer backend chosen"), "{log}");
    assert!(log.contains(&choice.to_string()), "{log}");
    match (&choice.reason, &choice.adapter) {
        (ChoiceReason::SoftwareAdapter, Some(a)) => {
            assert!(a.software);
            assert_eq!(choice.backend, Backend::Cpu);
            assert!(choice.to_string().contains(&a.name), "{choice}");
            assert!(log.contains("SoftwareAdapter"), "{log}");
        }
        (ChoiceReason::HardwareAdapter, Some(a)) => {
            assert!(!a.software);
            assert_eq!(choice.backend, Backend::Wgpu);
        }
        (ChoiceReason::NoAdapter(why), None) => {
            assert_eq!(choice.backend, Backend::Cpu);
            assert!(!why.is_empty());
        }
        other => panic!("inconsistent choice: {other:?}"),
    }
    let r = Renderer::open(RendererOptions::default()).expect("auto opens");
    assert_eq!(r.choice().backend, choice.backend);
    let want = match choice.backend {
        Backend::Cpu => DemotionLevel::Software,
        Backend::Wgpu => DemotionLevel::FullShaders,
    };
    assert_eq!(r.level(), want);
    forced_wgpu_takes_any_adapter();
}

/// Called from the test above, not a test of its own: `tracing` caches a
/// callsite's interest, and a second thread reaching `select_backend` with
/// no subscriber could race the scoped one (the log assertion would flake).
fn forced_wgpu_takes_any_adapter() {
    match select_backend(BackendRequest::Wgpu) {
        Ok(choice) => {
            assert_eq!(choice.backend, Backend::Wgpu);
            assert_eq!(choice.reason, ChoiceReason::Forced);
            assert!(choice.adapter.is_some());
            let r = Renderer::open(RendererOptions {
                backend: BackendRequest::Wgpu,
                ..Default::default()
            })
            .expect("device opens");
            assert_eq!(r.level(), DemotionLevel::FullShaders);
            assert_eq!(r.backend(), Backend::Wgpu);
        }
        Err(e) => eprintln!("SKIPPED: no wgpu adapter on this machine: {e}"),
    }
}

#[test]
fn backend_names_parse() {
    assert_eq!(
        "cpu".parse::<BackendRequest>().expect("known"),
        BackendRequest::Cpu
    );
    let err = "metal".parse::<BackendRequest>().expect_err("unknown");
    assert!(err.to_string().contains("auto, cpu, wgpu"), "{err}");
}
