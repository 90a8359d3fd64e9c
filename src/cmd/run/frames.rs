//! `warden run --frames N --out DIR`: the live system rendered offline.
//!
//! The config's compositor and the fft and perception actors it draws are
//! put on the virtual clock: each frame moves the clock one period, the
//! compositor asks those actors for their state at that time (and waits for
//! the image its next transition needs), so the frames are the same on every
//! run for the same config and seed, however loaded the machine is. Frames
//! are written as PNG on a thread of their own while the next one renders.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use warden_compositor::{Compositor, CompositorMsg, CompositorReply, RenderedFrame};
use warden_kernel::{Kernel, KernelOptions, Registry};

use warden_bench::stats::percentile;

/// How long one frame may wait for its inputs before the run gives up.
const FRAME_PATIENCE: Duration = Duration::from_secs(60);
/// A frame whose time exceeds this many periods counts as late.
const LATE: f64 = 1.25;

/// What `--frames` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// Frames written.
    pub frames: u64,
    /// Where.
    pub out: PathBuf,
    /// The frame size.
    pub width: u32,
    /// The frame size.
    pub height: u32,
    /// The configured rate.
    pub fps_target: f64,
    /// Frames per second achieved (wall clock, writing included).
    pub avg_fps: f64,
    /// Time per frame (request → frame in hand, inputs awaited included), ms.
    pub frame_p50_ms: f64,
    /// The same, 99th percentile.
    pub frame_p99_ms: f64,
    /// The same, longest.
    pub frame_max_ms: f64,
    /// The compositor's own render time, median, ms.
    pub render_p50_ms: f64,
    /// The same, 99th percentile.
    pub render_p99_ms: f64,
    /// The same, longest.
    pub render_max_ms: f64,
    /// Frames that took more than 1.25 periods (they would have been late live).
    pub late_frames: u64,
    /// The compositor's backend.
    pub backend: String,
    /// Wall-clock time of the whole run, s.
    pub wall_s: f64,
}

/// Put the compositor(s), and the fft and perception actors they draw, on
/// the virtual clock. The text is the config as written; keys the user set
/// otherwise are overridden only for this run.
pub(crate) fn virtual_config(text: &str) -> anyhow::Result<String> {
    let mut doc: toml::Table = toml::from_str(text).context("the config is not valid TOML")?;
    let Some(actors) = doc.get_mut("actors").and_then(toml::Value::as_table_mut) else {
        bail!("the config has no [actors.*]: nothing renders frames");
    };
    let kind = |name: &str, table: &toml::Table| -> String {
        table
            .get("kind")
            .and_then(toml::Value::as_str)
            .unwrap_or(name)
            .to_string()
    };
    let mut drawn: Vec<String> = Vec::new();
    let mut compositors = 0;
    for (name, table) in actors.iter_mut() {
        let Some(table) = table.as_table_mut() else {
            continue;
        };
        if kind(name, table) != "compositor" {
            continue;
        }
        compositors += 1;
        table.insert("clock".into(), toml::Value::String("virtual".into()));
        for (key, default) in [("audio", "fft"), ("camera", "perception")] {
            let named = table
                .get(key)
                .and_then(toml::Value::as_str)
                .unwrap_or(default);
            if !named.is_empty() {
                drawn.push(named.to_string());
            }
        }
    }
    if compositors == 0 {
        bail!("the config names no compositor actor: nothing renders frames");
    }
    for name in drawn {
        if let Some(table) = actors.get_mut(&name).and_then(toml::Value::as_table_mut)
            && matches!(kind(&name, table).as_str(), "fft" | "perception")
        {
            table.insert("clock".into(), toml::Value::String("virtual".into()));
        }
    }
    toml::to_string(&doc).context("cannot write the virtual-clock config")
}

/// The first compositor's name.
fn compositor_name(kernel: &Kernel) -> anyhow::Result<String> {
    kernel
        .config()
        .actors
        .iter()
        .find(|spec| spec.kind == "compositor")
        .map(|spec| spec.name.clone())
        .context("the config names no compositor actor")
}

/// The next frame: ask until the compositor has its inputs.
async fn next_frame(
    compositor: &warden_kernel::ActorRef<Compositor>,
    index: u64,
) -> anyhow::Result<RenderedFrame> {
    let started = Instant::now();
    loop {
        let last_reason = match compositor.call(CompositorMsg::RenderOnce).await {
            Ok(CompositorReply::Frame(frame)) => return Ok(frame),
            Ok(CompositorReply::Held(reason)) => reason,
            Ok(other) => bail!("frame {index}: the compositor answered {other:?}"),
            // A compositor restarting (it was killed) answers again soon.
            Err(err) => err.to_string(),
        };
        if started.elapsed() > FRAME_PATIENCE {
            bail!(
                "frame {index}: no frame after {} s ({last_reason})",
                FRAME_PATIENCE.as_secs()
            );
        }
        actix_rt::time::sleep(Duration::from_millis(1)).await;
    }
}

fn writer(out: PathBuf, frames: mpsc::Receiver<(u64, RenderedFrame)>) -> anyhow::Result<u64> {
    let mut written = 0;
    for (index, frame) in frames {
        let png = warden_web::encode::png(frame.rgba.as_ref(), frame.width, frame.height)
            .with_context(|| format!("frame {index}"))?;
        let path = out.join(format!("frame-{index:05}.png"));
        std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

/// Boot `text` on the virtual clock and write `count` frames into `out`.
pub(crate) fn render(
    text: &str,
    registry: &Registry,
    count: u64,
    out: &Path,
) -> anyhow::Result<Summary> {
    let text = virtual_config(text)?;
    let config = warden_kernel::KernelConfig::from_toml(&text, registry)
        .context("invalid config (on the virtual clock)")?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (tx, rx) = mpsc::sync_channel::<(u64, RenderedFrame)>(2);
    let out_dir = out.to_path_buf();
    let writing = std::thread::Builder::new()
        .name("warden-png".into())
        .spawn(move || writer(out_dir, rx))
        .context("cannot start the PNG writer")?;
    let registry = registry.clone();
    let rendered = actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
        let result = async {
            let name = compositor_name(&kernel)?;
            let compositor = kernel.actor::<Compositor>(&name)?;
            let started = Instant::now();
            let (mut frame_ms, mut render_ms) = (Vec::new(), Vec::new());
            let mut size = (0, 0);
            for index in 0..count {
                let asked = Instant::now();
                let frame = next_frame(&compositor, index).await?;
                frame_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
                render_ms.push(frame.render_ms);
                size = (frame.width, frame.height);
                if index % 30 == 29 {
                    eprintln!("warden: {} of {count} frames", index + 1);
                }
                let sender = tx.clone();
                // The writer's queue is short: a slow disk slows the run
                // instead of filling memory.
                actix_rt::task::spawn_blocking(move || sender.send((index, frame)))
                    .await
                    .context("the PNG writer stopped")?
                    .context("the PNG writer stopped")?;
            }
            let status = match compositor.call(CompositorMsg::Status).await {
                Ok(CompositorReply::Status(status)) => *status,
                other => bail!("the compositor's status: {other:?}"),
            };
            drop(tx);
            Ok((started, frame_ms, render_ms, size, status))
        }
        .await;
        kernel.shutdown().await;
        result
    });
    let written = writing
        .join()
        .map_err(|_| anyhow::anyhow!("the PNG writer panicked"))??;
    let (started, mut frame_ms, mut render_ms, (width, height), status) = rendered?;
    let wall_s = started.elapsed().as_secs_f64();
    let period_ms = 1000.0 / status.pacing.fps_target;
    let late_frames = frame_ms.iter().filter(|ms| **ms > period_ms * LATE).count() as u64;
    frame_ms.sort_by(f64::total_cmp);
    render_ms.sort_by(f64::total_cmp);
    Ok(Summary {
        frames: written,
        out: out.to_path_buf(),
        width,
        height,
        fps_target: status.pacing.fps_target,
        avg_fps: written as f64 / wall_s.max(1e-9),
        frame_p50_ms: percentile(&frame_ms, 0.5),
        frame_p99_ms: percentile(&frame_ms, 0.99),
        frame_max_ms: frame_ms.last().copied().unwrap_or(0.0),
        render_p50_ms: percentile(&render_ms, 0.5),
        render_p99_ms: percentile(&render_ms, 0.99),
        render_max_ms: render_ms.last().copied().unwrap_or(0.0),
        late_frames,
        backend: status.backend,
        wall_s,
    })
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "warden: {} frames ({}x{}, {} backend) in {}",
            self.frames,
            self.width,
            self.height,
            self.backend,
            self.out.display()
        )?;
        writeln!(
            f,
            "  avg_fps {:.1} (target {:.0}), wall {:.1} s",
            self.avg_fps, self.fps_target, self.wall_s
        )?;
        writeln!(
            f,
            "  frame time p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; late frames {}",
            self.frame_p50_ms, self.frame_p99_ms, self.frame_max_ms, self.late_frames
        )?;
        write!(
            f,
            "  render time p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.render_p50_ms, self.render_p99_ms, self.render_max_ms
        )
    }
}
