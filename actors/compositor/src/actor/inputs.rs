//! What the compositor follows besides its images: `fft.bars`, the camera
//! picture and its tracks, and the store's scene (a snapshot of `layers` and
//! `camera` at start, then `store.notify`). Each value is taken as it comes
//! (latest wins), turned into what the renderer draws, and put in the
//! inputs the live loop reads; a store that cannot answer is asked again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_fft::actor::{FftActor, FftBars, FftMsg, FftReply};
use warden_image::actor::ImageFrame;
use warden_kernel::{Ctx, Pending, Subscription};
use warden_perception::actor::{
    CameraFrame, PerceptionActor, PerceptionMsg, PerceptionReply, WireFrame,
};
use warden_perception::wire::TracksFrame;
use warden_renderer::{DetectionBox, Frame, LayerKind, LayerProps, Viewport};
use warden_store::actor::{StoreActor, StoreMsg, StoreNotify, StoreReply};

use crate::config::{CompositorConfig, Settings};
use crate::live::{Shared, lock};
use crate::overlays::{LatestBars, boxes};
use crate::scene_sync::SceneState;
use crate::slideshow::Picture;

/// A store that did not answer is asked again after this long.
const RESYNC: Duration = Duration::from_secs(1);

/// The slideshow waits this long for the scene's position at start.
pub(crate) const FIRST_SCENE: Duration = Duration::from_secs(2);

/// How old each input is, in ms (`None`: none came yet).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ages {
    pub(crate) bars: Option<f64>,
    pub(crate) camera: Option<f64>,
    pub(crate) tracks: Option<f64>,
}

/// The layers whose props the scene sets.
const LAYER_KINDS: [LayerKind; 4] = [
    LayerKind::Slideshow,
    LayerKind::Bars,
    LayerKind::Camera,
    LayerKind::Boxes,
];

/// New input values, made ready outside the inputs' lock.
#[derive(Default)]
struct Arrived {
    scene: Option<([(LayerKind, LayerProps); 4], Viewport)>,
    bars: Option<LatestBars>,
    camera: Option<(Arc<Frame>, Duration)>,
    boxes: Option<(Vec<DetectionBox>, Duration)>,
}

impl Arrived {
    /// Swap the values in (moves only); what they replace is dropped after
    /// the lock is released.
    fn apply(mut self, shared: &Shared, now: Duration) {
        if self.scene.is_none()
            && self.bars.is_none()
            && self.camera.is_none()
            && self.boxes.is_none()
        {
            return;
        }
        let mut inputs = lock(&shared.inputs);
        if let Some((props, viewport)) = self.scene.take() {
            for (kind, value) in inputs.props.iter_mut() {
                if let Some((_, new)) = props.iter().find(|(k, _)| k == kind) {
                    *value = *new;
                }
            }
            inputs.viewport = viewport;
            inputs.scene_changed.get_or_insert(now);
        }
        if let Some(bars) = self.bars.as_mut() {
            std::mem::swap(&mut inputs.bars, bars);
        }
        if let Some(camera) = self.camera.take() {
            self.camera = inputs.camera.replace(camera);
        }
        if let Some(boxes) = self.boxes.as_mut() {
            std::mem::swap(&mut inputs.boxes, boxes);
        }
        drop(inputs);
    }
}

/// See the module documentation.
pub(crate) struct Feeds {
    store: String,
    /// Under the virtual clock: the actors asked per frame.
    lockstep: Option<Lockstep>,
    bars: Option<Subscription<FftBars>>,
    camera: Option<Subscription<CameraFrame>>,
    tracks: Option<Subscription<WireFrame>>,
    notify: Option<Subscription<StoreNotify>>,
    scene: SceneState,
    snapshots: Vec<(String, Pending<StoreReply>)>,
    resync_at: Option<Instant>,
    camera_size: Option<(u32, u32)>,
    /// Since when the first scene is awaited, until it came (or failed).
    first_scene: Option<Instant>,
    bars_at: Option<Duration>,
    camera_at: Option<Duration>,
    tracks_at: Option<Duration>,
}

fn ms(now: Duration, at: Option<Duration>) -> Option<f64> {
    at.map(|at| now.saturating_sub(at).as_secs_f64() * 1000.0)
}

impl Feeds {
    pub(crate) fn start(config: &CompositorConfig, ctx: &mut Ctx) -> Self {
        let lockstep = (config.clock == "virtual").then(|| Lockstep {
            fft: config.audio.clone(),
            perception: config.camera.clone(),
            bars: Step::default(),
            camera: Step::default(),
        });
        let live = lockstep.is_none();
        let mut feeds = Feeds {
            store: config.store.clone(),
            lockstep,
            bars: (live && !config.audio.is_empty())
                .then(|| ctx.subscribe(warden_fft::actor::TOPIC, 1)),
            camera: (live && !config.camera.is_empty())
                .then(|| ctx.subscribe(warden_perception::actor::FRAME, 1)),
            tracks: (live && !config.camera.is_empty())
                .then(|| ctx.subscribe(warden_perception::actor::TRACKS, 1)),
            notify: (!config.store.is_empty())
                .then(|| ctx.subscribe(warden_store::actor::NOTIFY_TOPIC, 256)),
            scene: SceneState::default(),
            snapshots: Vec::new(),
            resync_at: None,
            camera_size: None,
            first_scene: Some(Instant::now()),
            bars_at: None,
            camera_at: None,
            tracks_at: None,
        };
        feeds.resync(ctx);
        feeds
    }

    /// Ask the store for the whole scene.
    fn resync(&mut self, ctx: &mut Ctx) {
        if self.store.is_empty() {
            return;
        }
        self.snapshots = ["layers", "camera", "dims"]
            .into_iter()
            .map(|topic| {
                let msg = StoreMsg::Snapshot {
                    topic: topic.to_string(),
                };
                (
                    topic.to_string(),
                    ctx.request::<StoreActor>(&self.store, &msg),
                )
            })
            .collect();
        self.resync_at = None;
    }

    pub(crate) fn ages(&self, now: Duration) -> Ages {
        Ages {
            bars: ms(now, self.bars_at),
            camera: ms(now, self.camera_at),
            tracks: ms(now, self.tracks_at),
        }
    }

    pub(crate) fn scene_version(&self) -> u64 {
        self.scene.version
    }

    /// The store actor (`""`: none).
    pub(crate) fn store(&self) -> &str {
        &self.store
    }

    /// Where the slideshow starts: the scene's position once the first
    /// scene came (image 0 without a store, or after [`FIRST_SCENE`] without
    /// an answer); `None` while it is awaited.
    pub(crate) fn slide_start(&self) -> Option<u64> {
        match self.first_scene {
            None => Some(self.scene.slide_step().unwrap_or(0)),
            Some(_) if self.store.is_empty() => Some(0),
            Some(since) if since.elapsed() > FIRST_SCENE => Some(0),
            Some(_) => None,
        }
    }

    /// The slideshow's position as the scene says.
    pub(crate) fn slide_step(&self) -> Option<u64> {
        self.scene.slide_step()
    }

    /// Take what arrived and hand it to the live loop. Everything is made
    /// ready first (the camera picture copied out of its shared frame, the
    /// tracks decoded and placed, the scene's props read) and the inputs
    /// are locked only to swap the new values in: the frame loop locks them
    /// every frame, and a lock held across a copy by a thread the scheduler
    /// then preempts is a late frame (priority inversion).
    pub(crate) fn take(&mut self, ctx: &mut Ctx, shared: &Shared, settings: &Settings) {
        let now = shared.clock.now();
        let mut scene_changed = self.take_scene(ctx);
        if self.resync_at.is_some_and(|at| Instant::now() >= at) {
            self.resync(ctx);
            scene_changed |= self.take_scene(ctx);
        }
        let mut arrived = Arrived::default();
        if scene_changed {
            arrived.scene = Some((
                LAYER_KINDS.map(|kind| (kind, self.scene.props(kind, default_props(kind)))),
                self.scene.viewport(),
            ));
        }
        if let Some(latest) = self.bars.as_ref().and_then(Subscription::latest) {
            match latest {
                Ok(bars) => arrived.bars = Some(self.bars_value(bars, now)),
                Err(err) => tracing::debug!(%err, "a bars value could not be read"),
            }
        }
        if let Some(latest) = self.camera.as_ref().and_then(Subscription::latest) {
            arrived.camera = self.camera_picture(latest.map_err(|err| err.to_string()), now);
        }
        if let Some(latest) = self.tracks.as_ref().and_then(Subscription::latest) {
            arrived.boxes =
                self.camera_tracks(latest.map_err(|err| err.to_string()), settings, now);
        }
        arrived.apply(shared, now);
    }

    fn bars_value(&mut self, bars: FftBars, now: Duration) -> LatestBars {
        self.bars_at = Some(now);
        LatestBars {
            bars: bars.bars,
            peaks: bars.peaks,
            at: now,
        }
    }

    fn camera_picture(
        &mut self,
        picture: Result<CameraFrame, String>,
        now: Duration,
    ) -> Option<(Arc<Frame>, Duration)> {
        match picture.and_then(|picture| {
            let size = (picture.width, picture.height);
            Frame::from_rgba(picture.width, picture.height, picture.rgba.to_vec())
                .map(|frame| (frame, size))
                .map_err(|err| err.to_string())
        }) {
            Ok((frame, size)) => {
                self.camera_size = Some(size);
                self.camera_at = Some(now);
                Some((Arc::new(frame), now))
            }
            Err(err) => {
                tracing::debug!(%err, "a camera picture could not be read");
                None
            }
        }
    }

    fn camera_tracks(
        &mut self,
        wire: Result<WireFrame, String>,
        settings: &Settings,
        now: Duration,
    ) -> Option<(Vec<DetectionBox>, Duration)> {
        match wire.and_then(|wire| TracksFrame::decode(&wire.wire).map_err(|err| err.to_string())) {
            Ok(frame) => {
                let size = self.camera_size.unwrap_or((640, 480));
                self.tracks_at = Some(now);
                Some((boxes(&frame.tracks, size, &settings.inset), now))
            }
            // A frame with a bad CRC is dropped, never drawn.
            Err(err) => {
                tracing::debug!(%err, "a tracks frame was refused");
                None
            }
        }
    }

    /// Under the virtual clock: make sure the bars and the camera of time
    /// `now` are in the inputs, asking their actors once; `Err` says what is
    /// still awaited (render nothing yet). An actor that refuses (or is not
    /// on the virtual clock) is reported once and its input left as it was:
    /// the frames go on, never waiting forever.
    pub(crate) fn lockstep(
        &mut self,
        ctx: &mut Ctx,
        shared: &Shared,
        settings: &Settings,
        now: Duration,
    ) -> Result<(), String> {
        let Some(mut lockstep) = self.lockstep.take() else {
            return Ok(());
        };
        let ms = now.as_millis() as u64;
        let mut waiting = Vec::new();
        if !lockstep.fft.is_empty() {
            let fft = lockstep.fft.clone();
            let answer = lockstep.bars.ask(ms, || {
                ctx.request::<FftActor>(&fft, &FftMsg::AdvanceTo { ms: ms as f64 })
            });
            match lockstep.bars.take(ctx, answer) {
                Taken::Waiting => waiting.push("bars"),
                Taken::Done => {}
                Taken::Answer(reply) => match reply {
                    Ok(FftReply::Snapshot(bars)) => {
                        if let Some(bars) = bars {
                            Arrived {
                                bars: Some(self.bars_value(bars, now)),
                                ..Arrived::default()
                            }
                            .apply(shared, now);
                        }
                    }
                    Ok(other) => lockstep.bars.refused(&fft, &format!("answered {other:?}")),
                    Err(err) => lockstep.bars.refused(&fft, &err.to_string()),
                },
            }
        }
        if !lockstep.perception.is_empty() {
            let perception = lockstep.perception.clone();
            let answer = lockstep.camera.ask(ms, || {
                ctx.request::<PerceptionActor>(&perception, &PerceptionMsg::AdvanceTo { ms })
            });
            match lockstep.camera.take(ctx, answer) {
                Taken::Waiting => waiting.push("camera"),
                Taken::Done => {}
                Taken::Answer(reply) => match reply {
                    Ok(PerceptionReply::Frame { picture, tracks }) => {
                        let mut arrived = Arrived::default();
                        if let Some(picture) = picture {
                            arrived.camera = self.camera_picture(Ok(picture), now);
                        }
                        if let Some(tracks) = tracks {
                            arrived.boxes = self.camera_tracks(Ok(tracks), settings, now);
                        }
                        arrived.apply(shared, now);
                    }
                    Ok(other) => lockstep
                        .camera
                        .refused(&perception, &format!("answered {other:?}")),
                    Err(err) => lockstep.camera.refused(&perception, &err.to_string()),
                },
            }
        }
        self.lockstep = Some(lockstep);
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "waiting for the {} at {ms} ms",
                waiting.join(" and ")
            ))
        }
    }

    /// Snapshot answers and store notifies; whether the scene changed.
    fn take_scene(&mut self, ctx: &mut Ctx) -> bool {
        let mut changed = false;
        let mut waiting = Vec::new();
        for (topic, pending) in std::mem::take(&mut self.snapshots) {
            match ctx.reply(&pending) {
                None => waiting.push((topic, pending)),
                Some(Ok(StoreReply::Snapshot {
                    version,
                    records_json,
                })) => match self.scene.snapshot(&topic, &records_json, version) {
                    Ok(()) => changed = true,
                    Err(err) => {
                        tracing::warn!(%err, "the store's scene could not be read");
                        self.resync_at = Some(Instant::now() + RESYNC);
                    }
                },
                Some(Ok(other)) => {
                    tracing::warn!(?other, "unexpected answer to a snapshot");
                    self.resync_at = Some(Instant::now() + RESYNC);
                }
                Some(Err(err)) => {
                    tracing::debug!(%err, "the store did not give its scene; asking again");
                    self.resync_at = Some(Instant::now() + RESYNC);
                }
            }
        }
        if waiting.is_empty() && self.resync_at.is_none() {
            self.first_scene = None;
        }
        self.snapshots = waiting;
        while let Some(notify) = self.notify.as_ref().and_then(Subscription::try_recv) {
            let Ok(notify) = notify else {
                continue;
            };
            if !notify.compacted.is_empty() || notify.version < self.scene.version {
                // A gap (or a restarted store): read the scene again.
                self.resync_at = Some(Instant::now());
            }
            for change in &notify.changes {
                self.scene.change(
                    &change.topic,
                    &change.target,
                    &change.key,
                    change.value_json.as_deref(),
                    change.version,
                );
                changed = true;
            }
        }
        changed
    }
}

/// The virtual clock's per-frame requests.
struct Lockstep {
    fft: String,
    perception: String,
    bars: Step<FftReply>,
    camera: Step<PerceptionReply>,
}

/// One input's request for one frame time.
struct Step<R> {
    /// The time asked for, and the answer awaited.
    asked: Option<(u64, Pending<R>)>,
    /// The last time answered.
    done: Option<u64>,
    /// The actor refused: not asked again.
    refused: bool,
}

impl<R> Default for Step<R> {
    fn default() -> Self {
        Step {
            asked: None,
            done: None,
            refused: false,
        }
    }
}

enum Taken<R> {
    Waiting,
    Done,
    Answer(Result<R, warden_kernel::CallError>),
}

impl<R: serde::de::DeserializeOwned> Step<R> {
    /// Ask for `ms` unless it was answered or is asked already; whether
    /// there is anything to take.
    fn ask(&mut self, ms: u64, request: impl FnOnce() -> Pending<R>) -> bool {
        if self.refused || self.done == Some(ms) {
            return false;
        }
        if self.asked.as_ref().is_none_or(|(at, _)| *at != ms) {
            self.asked = Some((ms, request()));
        }
        true
    }

    fn take(&mut self, ctx: &mut Ctx, open: bool) -> Taken<R> {
        if !open {
            return Taken::Done;
        }
        let Some((ms, pending)) = &self.asked else {
            return Taken::Done;
        };
        let ms = *ms;
        match ctx.reply(pending) {
            None => Taken::Waiting,
            Some(reply) => {
                self.asked = None;
                self.done = Some(ms);
                Taken::Answer(reply)
            }
        }
    }

    fn refused(&mut self, actor: &str, why: &str) {
        tracing::warn!(
            actor,
            why,
            "under the virtual clock this input is asked per frame, and the actor refused; \
             rendering without it (give the actor clock = \"virtual\")"
        );
        self.refused = true;
    }
}

fn default_props(kind: LayerKind) -> LayerProps {
    LayerProps::at(match kind {
        LayerKind::Slideshow => 0,
        LayerKind::Bars => 1,
        LayerKind::Camera => 2,
        LayerKind::Boxes => 3,
    })
}

/// An image from image_decode as the slideshow shows it: canvas-sized,
/// centred on the background where it is smaller (contain).
pub(crate) fn picture(image: &ImageFrame, settings: &Settings) -> Result<Picture, String> {
    let (w, h) = (settings.width, settings.height);
    let frame = if (image.width, image.height) == (w, h) {
        Frame::from_rgba(w, h, image.rgba.to_vec()).map_err(|err| err.to_string())?
    } else if image.width <= w && image.height <= h {
        let mut canvas = Frame::filled(w, h, [0, 0, 0, 255]).map_err(|err| err.to_string())?;
        let (x0, y0) = (
            (w - image.width) as usize / 2,
            (h - image.height) as usize / 2,
        );
        let (src_stride, dst_stride) = (image.width as usize * 4, canvas.stride());
        let data = canvas.data_mut();
        for (row, src) in image.rgba.chunks_exact(src_stride).enumerate() {
            let at = (y0 + row) * dst_stride + x0 * 4;
            data[at..at + src_stride].copy_from_slice(src);
        }
        canvas
    } else {
        return Err(format!(
            "{} is {}x{}, larger than the {w}x{h} picture",
            image.name, image.width, image.height
        ));
    };
    Ok(Picture {
        index: image.index.unwrap_or(0),
        name: image.name.clone(),
        frame: Arc::new(frame),
    })
}
