//! `[actors.NAME]` keys of a `compositor` actor, checked once: every error
//! names its key.

use std::time::Duration;

use serde::Deserialize;
use warden_kernel::ConfigProblem;
use warden_renderer::{BackendRequest, Easing, TransitionKind};

/// See the module documentation. Every key has a default.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompositorConfig {
    /// The frame size, `WxH`.
    pub size: String,
    /// Frames per second (1..=240).
    pub fps: f64,
    /// The transitions, used in turn (default: all twelve).
    pub transitions: Vec<String>,
    /// How long a transition runs (ms).
    pub transition_ms: u64,
    /// How long an image stays before the next transition (s).
    pub slide_secs: f64,
    /// How progress follows time: `linear`, `ease-in`, `ease-out`, `ease-in-out`.
    pub easing: String,
    /// `auto` (wgpu only on a hardware GPU), `cpu` or `wgpu`.
    pub backend: String,
    /// On the GPU: `pipelined` (frame N drawn and copied while frame N − 1
    /// is read: each frame shows the inputs one period old) or `wait`
    /// (each frame waited for). Ignored on the CPU path and under the
    /// virtual clock (always `wait`).
    pub readback: String,
    /// The `image_decode` actor the slideshow asks for images (`""`: none).
    pub images: String,
    /// How images fit the picture: `contain` (letterboxed) or `cover`.
    pub fit: String,
    /// The `store` actor the scene comes from (`""`: the defaults).
    pub store: String,
    /// The `fft` actor whose bars are drawn (`""`: no bars). Under the wall
    /// clock the bars come from `fft.bars`; under the virtual clock this
    /// actor is asked for the bars at each frame's time.
    pub audio: String,
    /// The `perception` actor whose camera picture is the inset and whose
    /// tracks are its boxes (`""`: no inset): `perception.frame` and
    /// `perception.tracks` under the wall clock, asked per frame under the
    /// virtual one.
    pub camera: String,
    /// Where the camera inset goes: `[x, y, w, h]` in fractions of the picture.
    pub inset: [f32; 4],
    /// `wall` (the live loop on its own clock) or `virtual` (each
    /// `RenderOnce` moves the clock one period: offline and deterministic).
    pub clock: String,
    /// Publish frames on `compositor.frame` while someone watches (`Watch`:
    /// the HTTP stream); `false` never publishes them.
    pub publish_frames: bool,
    /// The nice value the frame loop's thread asks for (-20..=19; the
    /// default -10 lets it preempt the workers on a busy machine). A
    /// process without `CAP_SYS_NICE` or a high enough `RLIMIT_NICE` is
    /// refused: the loop keeps the default priority and says so once.
    pub frame_nice: i32,
    /// The real-time priority (`SCHED_FIFO`, 1..=99) the frame loop's
    /// thread asks for; `0` leaves it under the ordinary scheduler at
    /// `frame_nice`. A nice value only weighs the thread's share: a woken
    /// loop can still wait several ms behind busy threads on a loaded
    /// machine, and a frame's deadline is missed. Refused (no
    /// `CAP_SYS_NICE`, no `RLIMIT_RTPRIO`), the loop uses `frame_nice`.
    /// A loop that falls behind for 250 ms leaves real time (and goes back
    /// after keeping up for 10 s).
    pub frame_realtime: u8,
}

impl Default for CompositorConfig {
    fn default() -> Self {
        CompositorConfig {
            size: "1920x1080".into(),
            fps: 30.0,
            transitions: TransitionKind::ALL
                .iter()
                .map(|kind| kind.name().to_string())
                .collect(),
            transition_ms: 1500,
            slide_secs: 6.0,
            easing: "ease-in-out".into(),
            backend: "auto".into(),
            readback: "pipelined".into(),
            images: "image_decode".into(),
            fit: "contain".into(),
            store: "store".into(),
            audio: "fft".into(),
            camera: "perception".into(),
            inset: [0.72, 0.04, 0.25, 0.25],
            clock: "wall".into(),
            publish_frames: true,
            frame_nice: -10,
            frame_realtime: 10,
        }
    }
}

/// The checked settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The frame period.
    pub period: Duration,
    /// Transitions in turn.
    pub transitions: Vec<TransitionKind>,
    /// Transition length.
    pub transition: Duration,
    /// Time an image stays.
    pub slide: Duration,
    /// Easing.
    pub easing: Easing,
    /// Backend.
    pub backend: BackendRequest,
    /// GPU frames pipelined (never under the virtual clock).
    pub pipelined: bool,
    /// The image fit.
    pub fit: warden_image::Fit,
    /// The inset's rectangle.
    pub inset: warden_renderer::NormRect,
    /// A virtual clock.
    pub virtual_clock: bool,
}

impl CompositorConfig {
    /// Check every key.
    pub fn settings(&self) -> Result<Settings, ConfigProblem> {
        let (width, height) = warden_renderer::parse_size(&self.size)
            .map_err(|err| ConfigProblem::new("size", err.to_string()))?;
        if !(-20..=19).contains(&self.frame_nice) {
            return Err(ConfigProblem::new(
                "frame_nice",
                format!("{} is outside -20..=19", self.frame_nice),
            ));
        }
        if self.frame_realtime > 99 {
            return Err(ConfigProblem::new(
                "frame_realtime",
                format!("{} is outside 0..=99", self.frame_realtime),
            ));
        }
        if !(self.fps.is_finite() && (1.0..=240.0).contains(&self.fps)) {
            return Err(ConfigProblem::new(
                "fps",
                format!("{} is outside 1..=240", self.fps),
            ));
        }
        if self.transitions.is_empty() {
            return Err(ConfigProblem::new(
                "transitions",
                "name at least one transition",
            ));
        }
        let transitions = self
            .transitions
            .iter()
            .map(|name| TransitionKind::from_name(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| ConfigProblem::new("transitions", err.to_string()))?;
        if !(1..=600_000).contains(&self.transition_ms) {
            return Err(ConfigProblem::new(
                "transition_ms",
                format!("{} is outside 1..=600000", self.transition_ms),
            ));
        }
        if !(self.slide_secs.is_finite() && (0.1..=86_400.0).contains(&self.slide_secs)) {
            return Err(ConfigProblem::new(
                "slide_secs",
                format!("{} is outside 0.1..=86400", self.slide_secs),
            ));
        }
        let easing = Easing::from_name(&self.easing)
            .map_err(|err| ConfigProblem::new("easing", err.to_string()))?;
        let backend = BackendRequest::from_name(&self.backend)
            .map_err(|err| ConfigProblem::new("backend", err.to_string()))?;
        let pipelined = match self.readback.as_str() {
            "pipelined" => true,
            "wait" => false,
            other => {
                return Err(ConfigProblem::new(
                    "readback",
                    format!("{other:?} is not pipelined or wait"),
                ));
            }
        };
        let fit = match self.fit.as_str() {
            "contain" => warden_image::Fit::Contain,
            "cover" => warden_image::Fit::Cover,
            other => {
                return Err(ConfigProblem::new(
                    "fit",
                    format!("{other:?} is not contain or cover"),
                ));
            }
        };
        let [x, y, w, h] = self.inset;
        if !self
            .inset
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
            || w <= 0.0
            || h <= 0.0
            || x + w > 1.0
            || y + h > 1.0
        {
            return Err(ConfigProblem::new(
                "inset",
                format!(
                    "{:?} is not [x, y, w, h] inside 0..=1 with w, h > 0",
                    self.inset
                ),
            ));
        }
        let virtual_clock = match self.clock.as_str() {
            "wall" => false,
            "virtual" => true,
            other => {
                return Err(ConfigProblem::new(
                    "clock",
                    format!("{other:?} is not wall or virtual"),
                ));
            }
        };
        Ok(Settings {
            width,
            height,
            period: Duration::from_secs_f64(1.0 / self.fps),
            transitions,
            transition: Duration::from_millis(self.transition_ms),
            slide: Duration::from_secs_f64(self.slide_secs),
            easing,
            backend,
            pipelined: pipelined && !virtual_clock,
            fit,
            inset: warden_renderer::NormRect { x, y, w, h },
            virtual_clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_every_error_names_its_key() {
        let settings = CompositorConfig::default().settings().expect("defaults");
        assert_eq!((settings.width, settings.height), (1920, 1080));
        assert_eq!(settings.transitions.len(), 12);
        let bad = |edit: fn(&mut CompositorConfig)| {
            let mut config = CompositorConfig::default();
            edit(&mut config);
            config.settings().expect_err("refused").key
        };
        assert_eq!(bad(|c| c.size = "big".into()), "size");
        assert_eq!(bad(|c| c.size = "1920×1080x".into()), "size");
        assert_eq!(bad(|c| c.fps = 0.0), "fps");
        assert_eq!(bad(|c| c.transitions = vec!["swirl".into()]), "transitions");
        assert_eq!(bad(|c| c.transitions.clear()), "transitions");
        assert_eq!(bad(|c| c.transition_ms = 0), "transition_ms");
        assert_eq!(bad(|c| c.slide_secs = f64::NAN), "slide_secs");
        assert_eq!(bad(|c| c.easing = "bounce".into()), "easing");
        assert_eq!(bad(|c| c.backend = "metal".into()), "backend");
        assert_eq!(bad(|c| c.readback = "sometimes".into()), "readback");
        assert_eq!(bad(|c| c.fit = "fill".into()), "fit");
        assert_eq!(bad(|c| c.inset = [0.9, 0.0, 0.5, 0.5]), "inset");
        assert_eq!(bad(|c| c.clock = "sundial".into()), "clock");
        let unicode = CompositorConfig {
            size: "640×360".into(),
            ..CompositorConfig::default()
        };
        assert_eq!(unicode.settings().expect("× works").width, 640);
    }
}
