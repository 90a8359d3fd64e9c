//! Offline rendering of one transition, frame by frame, with optional
//! synthetic overlays: what `warden render` drives. Frame `i` of `N` is at
//! time fraction `i / (N − 1)`, so the first frame is the source and the
//! last is the target (a single frame is the target).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::compositor::Compositor;
use crate::error::RenderError;
use crate::frame::Frame;
use crate::scene::Scene;
use crate::stats::{FrameTimes, TimeSummary};
use crate::synthetic::SyntheticOverlays;
use crate::tables::TransitionTables;
use crate::transition::{ActiveTransition, TransitionSpec};

/// One transition to render offline.
#[derive(Clone, Debug)]
pub struct OfflineJob {
    /// The first image (canvas-sized).
    pub from: Arc<Frame>,
    /// The second image (the same size).
    pub to: Arc<Frame>,
    /// The transition; its duration paces the overlays.
    pub spec: TransitionSpec,
    /// Frames to render, at least 1.
    pub frames: u32,
    /// Synthetic spectrum bars (0 for none).
    pub bars: usize,
    /// Synthetic detection boxes (0 for none).
    pub boxes: usize,
}

/// What an offline run measured.
#[derive(Clone, Debug)]
pub struct OfflineReport {
    /// Render time per frame (the sink's time excluded).
    pub times: TimeSummary,
    /// Without overlays: whether the last frame equals the target byte for byte.
    pub last_equals_target: Option<bool>,
}

/// Renders `job` with `compositor`, handing each frame to `sink` (frame
/// index, frame). Tables are built once up front, as a worker would.
pub fn render_transition(
    compositor: &mut dyn Compositor,
    job: &OfflineJob,
    mut sink: impl FnMut(u32, &Frame) -> Result<(), RenderError>,
) -> Result<OfflineReport, RenderError> {
    let (w, h) = (job.from.width(), job.from.height());
    if job.to.width() != w || job.to.height() != h {
        return Err(RenderError::SizeMismatch {
            what: "target image",
            width: job.to.width(),
            height: job.to.height(),
            canvas_width: w,
            canvas_height: h,
        });
    }
    if job.frames == 0 {
        return Err(RenderError::InvalidValue {
            field: "frames".to_owned(),
            value: "0".to_owned(),
            expected: "at least 1",
        });
    }
    let tables = TransitionTables::build(job.spec.kind, w, h, job.spec.seed)?.map(Arc::new);
    let mut scene = Scene::new(w, h);
    scene.slideshow.image = Some(Arc::clone(&job.to));
    let mut overlays = SyntheticOverlays::new(job.spec.seed, job.bars, job.boxes);
    let steps = job.frames.saturating_sub(1).max(1);
    let dt = job.spec.duration / steps;
    let mut times = FrameTimes::new();
    let mut out = Frame::empty();
    let mut last_equals_target = None;
    for i in 0..job.frames {
        let time = if job.frames == 1 {
            1.0
        } else {
            f64::from(i) / f64::from(steps)
        };
        let mut t = ActiveTransition::new(Arc::clone(&job.from), job.spec, time);
        t.tables = tables.clone();
        scene.slideshow.transition = Some(t);
        let secs = time * job.spec.duration.as_secs_f64();
        scene.bars.bars = overlays.bars_at(secs, if i == 0 { Duration::ZERO } else { dt });
        scene.boxes.boxes = overlays.boxes_at(secs);
        let start = Instant::now();
        compositor.render_into(&scene, &mut out)?;
        times.record(start.elapsed());
        if i + 1 == job.frames && job.bars == 0 && job.boxes == 0 {
            last_equals_target = Some(out.data() == job.to.data());
        }
        sink(i, &out)?;
    }
    Ok(OfflineReport {
        times: times
            .summary()
            .expect("invariant: at least one frame was rendered"),
        last_equals_target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuCompositor;
    use crate::transition::{Easing, TransitionKind};

    #[test]
    fn frames_run_from_source_to_target() {
        let a = Arc::new(Frame::filled(9, 5, [0, 0, 0, 255]).expect("valid"));
        let b = Arc::new(Frame::filled(9, 5, [255, 255, 255, 255]).expect("valid"));
        let job = OfflineJob {
            from: a.clone(),
            to: b.clone(),
            spec: TransitionSpec {
                kind: TransitionKind::Crossfade,
                duration: Duration::from_millis(300),
                easing: Easing::Linear,
                seed: 1,
            },
            frames: 3,
            bars: 0,
            boxes: 0,
        };
        let mut seen = Vec::new();
        let report = render_transition(&mut CpuCompositor::new(), &job, |i, f| {
            seen.push((i, f.pixel(0, 0).expect("pixel")));
            Ok(())
        })
        .expect("renders");
        assert_eq!(
            seen,
            vec![
                (0, [0, 0, 0, 255]),
                (1, [128, 128, 128, 255]),
                (2, [255, 255, 255, 255])
            ]
        );
        assert_eq!(report.times.count, 3);
        assert_eq!(report.last_equals_target, Some(true));
        let bad = OfflineJob { frames: 0, ..job };
        assert!(render_transition(&mut CpuCompositor::new(), &bad, |_, _| Ok(())).is_err());
    }
}
