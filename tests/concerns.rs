//! The conformance suite for the five concern actors, each in both
//! placements: it starts, answers a normal request, rejects a bad one and
//! lives on, is restarted after a panic and after a kill (a new pid in a
//! child), and keeps its own restart contract — the store loses nothing
//! acknowledged, image_decode answers identically (its cache may be cold),
//! fft and perception publish on with increasing `seq` / `frame_id`.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{FAST, boot_full, restarted};
use warden_compositor::{Compositor, CompositorMsg, CompositorReply, RenderedFrame};
use warden_fft::actor::{AudioSource, FftActor, FftBars, FftMsg, FftReply, Tuning};
use warden_image::actor::{ImageDecode, ImageMsg, ImageReply, Scale};
use warden_kernel::probe::checksum;
use warden_kernel::{ActorRef, CallError, InjectedFault, Kernel, Placement};
use warden_perception::actor::{
    Command, ConfigPatch, PerceptionActor, PerceptionMsg, PerceptionReply, WireFrame,
};
use warden_perception::wire::TracksFrame;
use warden_store::actor::{SessionOut, StoreActor, StoreMsg, StoreReply};

const WAIT: Duration = Duration::from_secs(15);

async fn kernel_with(placement: Placement, table: &str) -> Kernel {
    boot_full(&format!(
        "{FAST}\n{}\nplacement = \"{}\"\n",
        table.trim_end(),
        placement.as_str()
    ))
    .await
}

/// End the instance the way `how` says and wait for its successor.
async fn restart(kernel: &Kernel, name: &str, placement: Placement, how: &str) {
    let before = kernel.status(name).unwrap();
    match how {
        "panic" => kernel.inject(name, InjectedFault::Panic).unwrap(),
        _ => kernel.kill(name, "conformance").unwrap(),
    }
    let after = restarted(kernel, name, before.generation).await;
    assert_eq!(after.restarts, before.restarts + 1);
    if placement == Placement::Process {
        assert_ne!(after.pid, before.pid, "a new child");
    }
    assert!(after.last_exit.is_some());
}

// ---- image_decode ---------------------------------------------------------

const IMAGE: &str = "[actors.img]\nkind = \"image_decode\"\nsample_size = \"320x180\"\nsize = \"160x90\"\nsamples = 4";

async fn nth(
    img: &warden_kernel::ActorRef<ImageDecode>,
    index: u64,
) -> warden_image::actor::ImageFrame {
    match img
        .call(ImageMsg::Nth {
            index,
            scale: Scale::default(),
        })
        .await
        .unwrap()
    {
        ImageReply::Image(frame) => frame,
        other => panic!("unexpected {other:?}"),
    }
}

async fn image_decode(placement: Placement) {
    let kernel = kernel_with(placement, IMAGE).await;
    let img = kernel.actor::<ImageDecode>("img").unwrap();
    let ImageReply::List(list) = img.call(ImageMsg::List).await.unwrap() else {
        panic!("no list");
    };
    assert_eq!(list.names.len(), 4, "{list:?}");
    let first = nth(&img, 0).await;
    assert_eq!((first.width, first.height), (160, 90));
    assert_eq!(first.rgba.len(), 160 * 90 * 4);
    assert_eq!(first.count, 4);
    assert_eq!(
        first.rgba.in_shared_memory(),
        placement == Placement::Process
    );
    assert!(!first.cached);
    assert!(
        nth(&img, 4).await.cached,
        "index 4 wraps to 0, from the cache"
    );
    let sum = checksum(&first.rgba);
    // Bad requests: refused, and the actor lives on.
    let err = img
        .call(ImageMsg::Decode {
            path: "/no/such/file.png".into(),
            scale: Scale::default(),
            full: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("/no/such/file.png")),
        "{err}"
    );
    let garbage = warden_kernel::SharedFrame::from_vec(b"\xff\xd8\xffnot really a jpeg".to_vec());
    let err = img
        .call(ImageMsg::DecodeBytes {
            bytes: garbage,
            scale: Scale::default(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Rejected { .. }), "{err}");
    assert_eq!(checksum(&nth(&img, 0).await.rgba), sum);
    // Restarts: the cache is cold, the answers are the same.
    for how in ["panic", "kill"] {
        restart(&kernel, "img", placement, how).await;
        let again = nth(&img, 0).await;
        assert!(!again.cached, "a new instance starts with an empty cache");
        assert_eq!(checksum(&again.rgba), sum, "identical after a {how}");
    }
    kernel.shutdown().await;
}

// ---- fft ------------------------------------------------------------------

const FFT: &str = "[actors.fft]\nkind = \"fft\"\nbars = 32";

async fn last_seq(sub: &warden_kernel::Subscription<FftBars>) -> FftBars {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = sub.latest() {
            return value.unwrap();
        }
        assert!(Instant::now() < deadline, "no fft.bars");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn fft(placement: Placement) {
    let kernel = kernel_with(placement, FFT).await;
    let fft = kernel.actor::<FftActor>("fft").unwrap();
    let bars = kernel.subscribe::<FftBars>("fft.bars", 64);
    let first = last_seq(&bars).await;
    assert_eq!(first.bars.len(), 32);
    assert!(first.peaks.iter().zip(&first.bars).all(|(p, b)| p >= b));
    let FftReply::Snapshot(Some(snapshot)) = fft.call(FftMsg::Snapshot).await.unwrap() else {
        panic!("no snapshot");
    };
    assert!(snapshot.seq >= first.seq);
    // Bad requests.
    let err = fft
        .call(FftMsg::SetSource(AudioSource::Wav("/no/such.wav".into())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("/no/such.wav")),
        "{err}"
    );
    let err = fft
        .call(FftMsg::Configure(Tuning {
            bars: Some(0),
            ..Tuning::default()
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("bars")),
        "{err}"
    );
    let FftReply::Status(status) = fft.call(FftMsg::Status).await.unwrap() else {
        panic!("no status");
    };
    assert_eq!(status.bars, 32, "a refused change changes nothing");
    // Restarts: publishing resumes, seq and t still increasing.
    let mut last = last_seq(&bars).await;
    for how in ["panic", "kill"] {
        restart(&kernel, "fft", placement, how).await;
        let before = kernel.status("fft").unwrap().generation;
        let next = loop {
            let value = last_seq(&bars).await;
            // Values from the new instance (a frame published after the restart).
            if value.t > last.t + 0.05 && kernel.status("fft").unwrap().generation == before {
                break value;
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            next.seq > last.seq && next.t > last.t,
            "{} {} after {how}",
            next.seq,
            last.seq
        );
        last = next;
    }
    kernel.shutdown().await;
}

// ---- store ----------------------------------------------------------------

fn store_table(dir: &std::path::Path) -> String {
    format!(
        "[actors.store]\nkind = \"store\"\ndata = \"{}\"",
        dir.display()
    )
}

async fn store(placement: Placement) {
    let dir = tempfile::tempdir().unwrap();
    let kernel = kernel_with(placement, &store_table(dir.path())).await;
    let store = kernel.actor::<StoreActor>("store").unwrap();
    let session = kernel.subscribe::<SessionOut>("store.session", 1024);
    // The store starts seeded with the compositor's scene.
    let StoreReply::Status(status) = store.call(StoreMsg::Status).await.unwrap() else {
        panic!("no status");
    };
    assert_eq!(
        status.version, 7,
        "four layers, the camera, the slideshow view and its range"
    );
    let mut acked: Vec<u64> = vec![status.version];
    for i in 0..5 {
        let reply = store
            .call(StoreMsg::Update {
                topic: "layers".into(),
                payload_json: format!(r#"{{"op":"add","id":"layer{i}","opacity":0.5}}"#),
                expected_version: *acked.last().unwrap(),
                actor_id: "conformance".into(),
            })
            .await
            .unwrap();
        let StoreReply::Updated {
            ok: true, version, ..
        } = reply
        else {
            panic!("refused: {reply:?}");
        };
        acked.push(version);
    }
    // A client session over the same actor: hello → welcome on store.session.
    store
        .call(StoreMsg::Open {
            conn: 7,
            may_write: true,
        })
        .await
        .unwrap();
    store
        .call(StoreMsg::Frame {
            conn: 7,
            text: r#"{"type":"session.hello","actor_id":"tester"}"#.into(),
        })
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let mut texts = Vec::new();
    while !texts.iter().any(|t: &String| t.contains("notify.scene")) {
        if let Some(out) = session.try_recv() {
            texts.extend(
                out.unwrap()
                    .frames
                    .into_iter()
                    .filter(|f| f.conn == 7)
                    .filter_map(|f| f.text),
            );
        }
        assert!(
            Instant::now() < deadline,
            "no welcome and baseline: {texts:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(texts[0].contains("session.welcome"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("layer4")),
        "the baseline holds the layers"
    );
    // Bad requests: refused with the reason, the actor lives on.
    let err = store
        .call(StoreMsg::Update {
            topic: "colours".into(),
            payload_json: "{}".into(),
            expected_version: 0,
            actor_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("colours")),
        "{err}"
    );
    let refused = store
        .call(StoreMsg::Update {
            topic: "layers".into(),
            payload_json: r#"{"op":"add","id":"x","opacity":7}"#.into(),
            expected_version: *acked.last().unwrap(),
            actor_id: "x".into(),
        })
        .await
        .unwrap();
    assert!(
        matches!(refused, StoreReply::Updated { ok: false, .. }),
        "{refused:?}"
    );
    // Restarts: every acked update is still there.
    for how in ["panic", "kill"] {
        restart(&kernel, "store", placement, how).await;
        let StoreReply::Snapshot {
            version,
            records_json,
        } = store
            .call(StoreMsg::Snapshot {
                topic: "layers".into(),
            })
            .await
            .unwrap()
        else {
            panic!("no snapshot");
        };
        assert_eq!(version, *acked.last().unwrap(), "after a {how}");
        for i in 0..5 {
            assert!(
                records_json.contains(&format!("layer{i}")),
                "{records_json}"
            );
        }
    }
    kernel.shutdown().await;
}

// ---- perception -----------------------------------------------------------

const PERCEPTION: &str = "[actors.cam]\nkind = \"perception\"\nfps = 20\nsize = \"160x120\"\nscenario = \"easy\"\npublish_frames = true";

async fn latest_tracks(sub: &warden_kernel::Subscription<WireFrame>) -> WireFrame {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = sub.latest() {
            return value.unwrap();
        }
        assert!(Instant::now() < deadline, "no perception.tracks");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn perception(placement: Placement) {
    let kernel = kernel_with(placement, PERCEPTION).await;
    let cam = kernel.actor::<PerceptionActor>("cam").unwrap();
    let tracks = kernel.subscribe::<WireFrame>("perception.tracks", 16);
    let pictures = kernel.subscribe::<warden_perception::actor::CameraFrame>("perception.frame", 1);
    let first = latest_tracks(&tracks).await;
    let decoded = TracksFrame::decode(&first.wire).expect("a valid frame, CRC included");
    assert_eq!(decoded.frame_id, first.frame_id);
    let picture = loop {
        if let Some(p) = pictures.latest() {
            break p.unwrap();
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!((picture.width, picture.height), (160, 120));
    assert_eq!(picture.rgba.len(), 160 * 120 * 4);
    let ack = cam
        .call(PerceptionMsg::Command {
            request_id: "r-1".into(),
            command: Command::RefreshTimelines,
        })
        .await
        .unwrap();
    assert!(
        matches!(&ack, PerceptionReply::Ack(a) if a.request_id == "r-1" && a.status == "success"),
        "{ack:?}"
    );
    // Bad requests name the field.
    let err = cam
        .call(PerceptionMsg::Command {
            request_id: "r-2".into(),
            command: Command::ConfigUpdate(ConfigPatch {
                fps: Some(0.0),
                ..ConfigPatch::default()
            }),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("fps") && reason.contains("r-2")),
        "{err}"
    );
    let err = cam
        .call(PerceptionMsg::Command {
            request_id: String::new(),
            command: Command::RefreshTimelines,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Rejected { .. }));
    let PerceptionReply::Stats(stats) = cam.call(PerceptionMsg::Stats).await.unwrap() else {
        panic!("no stats");
    };
    assert!(stats.frames > 0 && stats.fps_target == 20.0, "{stats:?}");
    // Restarts: frame ids go on increasing.
    let mut last = latest_tracks(&tracks).await.frame_id;
    for how in ["panic", "kill"] {
        restart(&kernel, "cam", placement, how).await;
        let deadline = Instant::now() + WAIT;
        let next = loop {
            let id = latest_tracks(&tracks).await.frame_id;
            if id > last + 2 {
                break id;
            }
            assert!(Instant::now() < deadline, "no new frames after a {how}");
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        };
        last = next;
    }
    kernel.shutdown().await;
}

// ---- compositor -----------------------------------------------------------

const COMPOSITOR: &str =
    "[actors.comp]\nkind = \"compositor\"\nsize = \"320x180\"\nbackend = \"cpu\"";

/// The live loop's first frame (`Held` until it has rendered one).
async fn first_frame(comp: &ActorRef<Compositor>) -> RenderedFrame {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match comp.call(CompositorMsg::RenderOnce).await.unwrap() {
            CompositorReply::Frame(frame) => return frame,
            CompositorReply::Held(_) if Instant::now() < deadline => {
                actix_rt::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("no frame: {other:?}"),
        }
    }
}

async fn compositor(placement: Placement) {
    let kernel = kernel_with(placement, COMPOSITOR).await;
    let comp = kernel.actor::<Compositor>("comp").unwrap();
    let frame = first_frame(&comp).await;
    assert_eq!((frame.width, frame.height), (320, 180));
    assert_eq!(frame.rgba.len(), 320 * 180 * 4);
    assert!(
        frame.rgba.chunks_exact(4).all(|px| px == [0, 0, 0, 255]),
        "an empty scene is black"
    );
    let err = comp
        .call(CompositorMsg::Configure {
            transitions: Some(vec!["swirl".into()]),
            transition_ms: None,
            slide_secs: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Rejected { reason, .. } if reason.contains("transitions")),
        "{err}"
    );
    for how in ["panic", "kill"] {
        restart(&kernel, "comp", placement, how).await;
        let again = first_frame(&comp).await;
        let CompositorReply::Status(status) = comp.call(CompositorMsg::Status).await.unwrap()
        else {
            panic!("no status");
        };
        assert_eq!(status.backend, "cpu");
        assert_eq!((status.width, status.height), (320, 180));
        assert_eq!(again.rgba, frame.rgba, "the same picture after a {how}");
    }
    kernel.shutdown().await;
}

async fn comp_status(comp: &ActorRef<Compositor>) -> warden_compositor::CompositorStatus {
    match comp.call(CompositorMsg::Status).await.unwrap() {
        CompositorReply::Status(status) => *status,
        other => panic!("Status answered {other:?}"),
    }
}

/// The frame loop runs real-time where the process may (root in CI), and a
/// loop that cannot keep up (4K frames at 240 fps on a CPU renderer) leaves
/// real time by itself within about a second, says so in its status and
/// reports it to the supervisor: a real-time thread that never sleeps
/// would starve its core.
async fn frame_loop_scheduling(placement: Placement) {
    let kernel = kernel_with(placement, COMPOSITOR).await;
    let comp = kernel.actor::<Compositor>("comp").unwrap();
    first_frame(&comp).await;
    let how = comp_status(&comp).await.scheduling;
    kernel.shutdown().await;
    let realtime = how == "real-time (SCHED_FIFO 10)";
    assert!(realtime || how.contains("real time refused"), "{how}");
    if !realtime {
        eprintln!("SKIPPED the overload half: this process may not run real-time ({how})");
        return;
    }
    let kernel = kernel_with(
        placement,
        "[actors.comp]\nkind = \"compositor\"\nsize = \"3840x2160\"\nfps = 240\nbackend = \"cpu\"",
    )
    .await;
    let comp = kernel.actor::<Compositor>("comp").unwrap();
    first_frame(&comp).await;
    let deadline = Instant::now() + WAIT;
    let how = loop {
        let how = comp_status(&comp).await.scheduling;
        if how.contains("left real time") || Instant::now() > deadline {
            break how;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        how.starts_with("the ordinary scheduler at nice -10 (left real time"),
        "{how}"
    );
    let event = kernel
        .events_since(0)
        .into_iter()
        .find(|e| e.kind == "realtime-left");
    assert!(
        event
            .as_ref()
            .is_some_and(|e| e.actor == "comp" && e.detail == how),
        "{event:?}"
    );
    kernel.shutdown().await;
}

macro_rules! in_both_placements {
    ($($case:ident),* $(,)?) => {
        mod inprocess {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Inprocess).await })*
        }
        mod process {
            use super::*;
            $(#[actix_rt::test] async fn $case() { super::$case(Placement::Process).await })*
        }
    };
}

in_both_placements!(
    image_decode,
    fft,
    store,
    perception,
    compositor,
    frame_loop_scheduling
);
