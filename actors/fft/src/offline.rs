//! Whole-stream analysis: drive an [`Analyzer`] over a WAV source or a
//! sample buffer to the end, pass every frame to a callback, and collect
//! the summary (beat times and tempo) that `warden analyze` prints last.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::{Analyzer, FftError, FrameView, WavSource};

/// Sample frames read from a WAV source per chunk.
const CHUNK_FRAMES: usize = 8192;

/// What a whole stream came to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Frames analysed.
    pub frames: u64,
    /// Seconds of audio analysed.
    pub seconds: f64,
    /// Detected beat times in seconds, ascending.
    pub beats: Vec<f64>,
    /// The final tempo estimate in BPM (none if the audio was too short or
    /// had no rhythm).
    pub bpm: Option<f64>,
}

impl Summary {
    fn observe(&mut self, view: &FrameView<'_>) {
        self.frames += 1;
        if let Some(t) = view.frame.beat_t {
            self.beats.push(t);
        }
        if let Some(bpm) = view.frame.bpm {
            self.bpm = Some(f64::from(bpm));
        }
    }
}

/// Analyse a whole mono buffer, calling `on_frame` for every frame.
pub fn analyze_samples<E>(
    analyzer: &mut Analyzer,
    mono: &[f32],
    mut on_frame: impl FnMut(FrameView<'_>) -> Result<(), E>,
) -> Result<Summary, E> {
    let mut summary = Summary::default();
    let mut each = |view: FrameView<'_>| {
        summary.observe(&view);
        on_frame(view)
    };
    analyzer.push(mono, &mut each)?;
    analyzer.finish(&mut each)?;
    summary.seconds = mono.len() as f64 / f64::from(analyzer.config().sample_rate);
    Ok(summary)
}

/// Analyse a WAV source to its end, calling `on_frame` for every frame and
/// `progress(frames_read, frames_total)` after every chunk read.
pub fn analyze_source<R: Read, E: From<FftError>>(
    analyzer: &mut Analyzer,
    source: &mut WavSource<R>,
    mut on_frame: impl FnMut(FrameView<'_>) -> Result<(), E>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Summary, E> {
    let mut summary = Summary::default();
    let mut each = |view: FrameView<'_>| {
        summary.observe(&view);
        on_frame(view)
    };
    let mut chunk = Vec::with_capacity(CHUNK_FRAMES);
    let total = source.info().frames;
    while source.read_mono(&mut chunk, CHUNK_FRAMES)? > 0 {
        analyzer.push(&chunk, &mut each)?;
        progress(source.frames_read(), total);
    }
    analyzer.finish(&mut each)?;
    summary.seconds = source.info().seconds();
    Ok(summary)
}
