//! The renderer session and its demotion ladder (seed 001, groups A → B →
//! C): full shaders → compositing only → software. A shader compile
//! failure, a lost device or a validation error demotes the whole session —
//! never one transition, never silently: each step is logged, recorded with
//! its cause, and the failed frame is drawn again at the new level, so no
//! frame is lost. The level never goes back up.

use crate::backend::{BackendChoice, BackendRequest, ChoiceReason, choose};
use crate::compositor::{Backend, Compositor, DemotionLevel};
use crate::cpu::CpuCompositor;
use crate::error::RenderError;
use crate::frame::Frame;
use crate::gpu::{FaultInjection, FaultKind, GpuCompositor, GpuError, GpuFault, ShaderModuleName};
use crate::scene::Scene;

/// How to open a [`Renderer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RendererOptions {
    /// Which backend to use.
    pub backend: BackendRequest,
    /// Failures to inject (tests only; empty by default).
    pub faults: FaultInjection,
}

/// One step down the ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demotion {
    /// The level before.
    pub from: DemotionLevel,
    /// The level from then on.
    pub to: DemotionLevel,
    /// What failed.
    pub cause: GpuFault,
    /// The session frame (from 0) that failed and was redrawn at `to`.
    pub frame: u64,
}

impl std::fmt::Display for Demotion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "demoted {} -> {} at frame {}: {}",
            self.from, self.to, self.frame, self.cause
        )
    }
}

/// Where a failure of `kind` at `level` sends the session; always lower.
pub fn demotion_target(level: DemotionLevel, kind: FaultKind) -> DemotionLevel {
    match (level, kind) {
        (DemotionLevel::FullShaders, FaultKind::ShaderCompile(ShaderModuleName::Slideshow))
        | (DemotionLevel::FullShaders, FaultKind::Validation) => DemotionLevel::CompositingOnly,
        _ => DemotionLevel::Software,
    }
}

/// A rendering session: the chosen backend, the current level, and the
/// demotions so far. This is what the compositor actor holds.
pub struct Renderer {
    choice: BackendChoice,
    level: DemotionLevel,
    gpu: Option<GpuCompositor>,
    cpu: CpuCompositor,
    demotions: Vec<Demotion>,
    frames: u64,
    /// The scene submitted to the GPU by [`Renderer::render_pipelined`]
    /// and not yet collected, and its session frame.
    pending: Option<(u64, Scene)>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("choice", &self.choice)
            .field("level", &self.level)
            .field("demotions", &self.demotions)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Chooses the backend (logged) and opens it. With `auto`, a device that
    /// will not open falls back to the CPU path, with that as the reason.
    pub fn open(options: RendererOptions) -> Result<Self, RenderError> {
        let (mut choice, adapter) = choose(options.backend)?;
        let gpu = match adapter {
            None => None,
            Some(adapter) => match GpuCompositor::open(&adapter, options.faults) {
                Ok(g) => Some(g),
                Err(e) if options.backend == BackendRequest::Auto => {
                    tracing::warn!(error = %e, "wgpu device failed to open; using the CPU path");
                    choice.backend = Backend::Cpu;
                    choice.reason = ChoiceReason::NoAdapter(e.to_string());
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let level = if gpu.is_some() {
            DemotionLevel::FullShaders
        } else {
            DemotionLevel::Software
        };
        Ok(Self {
            choice,
            level,
            gpu,
            cpu: CpuCompositor::new(),
            demotions: Vec::new(),
            frames: 0,
            pending: None,
        })
    }

    /// The backend choice and its reason.
    pub fn choice(&self) -> &BackendChoice {
        &self.choice
    }

    /// Every demotion so far, oldest first.
    pub fn demotions(&self) -> &[Demotion] {
        &self.demotions
    }

    /// Frames rendered (or attempted) so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Pipelined rendering, for a live loop: submits `scene` to the GPU and
    /// puts into `out` the frame of the scene submitted by the call before,
    /// so that the GPU draws and copies one frame while the CPU reads the
    /// one before it (the frame shown is one call late). Returns the
    /// session frame number of what `out` holds, or `None` on the first
    /// call (nothing to show yet). On a CPU-only session the frame is
    /// `scene`'s own, drawn now. A GPU fault demotes as
    /// [`Compositor::render_into`] does: the failed frame is drawn again at
    /// the new level and `scene` goes to the new level, so no frame is
    /// skipped (after a demotion to the CPU path frames stay one call late).
    pub fn render_pipelined(
        &mut self,
        scene: &Scene,
        out: &mut Frame,
    ) -> Result<Option<u64>, RenderError> {
        let frame = self.frames;
        self.frames += 1;
        loop {
            let full = match self.level {
                DemotionLevel::FullShaders => true,
                DemotionLevel::CompositingOnly => false,
                DemotionLevel::Software => {
                    // After a demotion a scene is held: frames stay one
                    // call late, none skipped.
                    let Some((number, held)) = self.pending.replace((frame, scene.clone())) else {
                        self.pending = None;
                        self.cpu.render_into(scene, out)?;
                        return Ok(Some(frame));
                    };
                    self.cpu.render_into(&held, out)?;
                    return Ok(Some(number));
                }
            };
            let Some(gpu) = self.gpu.as_mut() else {
                self.level = DemotionLevel::Software;
                continue;
            };
            let split = scene.camera.shown().then(|| below_camera(scene));
            match gpu.submit(full, split.as_ref().unwrap_or(scene)) {
                Ok(()) => {}
                Err(GpuError::Scene(e)) => return Err(e),
                Err(GpuError::Fault(f)) => {
                    // The frame before was submitted before the fault: it
                    // is read if the device still works, drawn again at
                    // the new level if not.
                    let previous = self.pending.take();
                    let collected = previous.is_some()
                        && f.kind != FaultKind::DeviceLost
                        && gpu.collect(out).is_ok();
                    gpu.discard();
                    self.demote(f, frame);
                    let Some((number, previous)) = previous else {
                        continue;
                    };
                    if !collected {
                        self.draw_now(&previous, out, number)?;
                    } else if previous.camera.shown() {
                        self.cpu.draw_from_camera(&previous, out)?;
                    }
                    // This scene at the new level, next call.
                    self.pending_again(scene, frame);
                    return Ok(Some(number));
                }
            }
            let Some((number, previous)) = self.pending.replace((frame, scene.clone())) else {
                return Ok(None);
            };
            let gpu = self
                .gpu
                .as_mut()
                .expect("invariant: the GPU took the scene just above");
            match gpu.collect(out) {
                Ok(()) if previous.camera.shown() => {
                    self.cpu.draw_from_camera(&previous, out)?;
                    return Ok(Some(number));
                }
                Ok(()) => return Ok(Some(number)),
                Err(f) => {
                    gpu.discard();
                    self.pending = None;
                    self.demote(f, number);
                    // The failed frame drawn again at the new level, and
                    // this one submitted there (or held for the CPU path).
                    self.draw_now(&previous, out, number)?;
                    self.pending_again(scene, frame);
                    return Ok(Some(number));
                }
            }
        }
    }

    /// After a demotion: submit `scene` (session frame `frame`) again at
    /// the new level, or hold it for the CPU path.
    fn pending_again(&mut self, scene: &Scene, frame: u64) {
        let full = self.level == DemotionLevel::FullShaders;
        let gpu = match self.gpu.as_mut() {
            Some(gpu) if self.level != DemotionLevel::Software => gpu,
            _ => {
                self.pending = Some((frame, scene.clone()));
                return;
            }
        };
        let split = scene.camera.shown().then(|| below_camera(scene));
        match gpu.submit(full, split.as_ref().unwrap_or(scene)) {
            Ok(()) => self.pending = Some((frame, scene.clone())),
            Err(GpuError::Scene(e)) => tracing::debug!(%e, "a scene was refused"),
            Err(GpuError::Fault(f)) => {
                gpu.discard();
                self.demote(f, frame);
                self.pending_again(scene, frame);
            }
        }
    }

    /// Collects the frame still in flight after the last
    /// [`render_pipelined`](Self::render_pipelined) (the end of a run):
    /// its session frame number, or `None` if there is none.
    pub fn flush(&mut self, out: &mut Frame) -> Result<Option<u64>, RenderError> {
        let Some((number, scene)) = self.pending.take() else {
            return Ok(None);
        };
        let gpu = match self.gpu.as_mut() {
            Some(gpu) if self.level != DemotionLevel::Software => gpu,
            _ => {
                self.cpu.render_into(&scene, out)?;
                return Ok(Some(number));
            }
        };
        match gpu.collect(out) {
            Ok(()) if scene.camera.shown() => self.cpu.draw_from_camera(&scene, out)?,
            Ok(()) => {}
            Err(f) => {
                gpu.discard();
                self.demote(f, number);
                self.draw_now(&scene, out, number)?;
            }
        }
        Ok(Some(number))
    }

    /// Draws `scene` (session frame `frame`) now, waiting for the GPU,
    /// down the ladder until a level draws it.
    fn draw_now(&mut self, scene: &Scene, out: &mut Frame, frame: u64) -> Result<(), RenderError> {
        loop {
            let full = match self.level {
                DemotionLevel::FullShaders => true,
                DemotionLevel::CompositingOnly => false,
                DemotionLevel::Software => return self.cpu.render_into(scene, out),
            };
            let Some(gpu) = self.gpu.as_mut() else {
                self.level = DemotionLevel::Software;
                continue;
            };
            // The camera inset is drawn on the CPU over the GPU's frame,
            // with every layer above it, so the stacking order holds.
            let split = scene.camera.shown().then(|| below_camera(scene));
            match gpu.draw(full, split.as_ref().unwrap_or(scene), out) {
                Ok(()) if split.is_some() => return self.cpu.draw_from_camera(scene, out),
                Ok(()) => return Ok(()),
                Err(GpuError::Scene(e)) => return Err(e),
                Err(GpuError::Fault(f)) => self.demote(f, frame),
            }
        }
    }

    fn demote(&mut self, cause: GpuFault, frame: u64) {
        let to = demotion_target(self.level, cause.kind);
        tracing::warn!(
            from = %self.level,
            to = %to,
            cause = %cause.kind,
            detail = %cause.detail,
            frame,
            "renderer demoted for the rest of the session"
        );
        self.demotions.push(Demotion {
            from: self.level,
            to,
            cause,
            frame,
        });
        self.level = to;
        if to == DemotionLevel::Software {
            // The device is not trusted again; free it.
            self.gpu = None;
        }
    }
}

/// `scene` without the camera layer and the layers above it.
fn below_camera(scene: &Scene) -> Scene {
    let mut below = scene.clone();
    let order = scene.layer_order();
    let at = order
        .iter()
        .position(|k| *k == crate::scene::LayerKind::Camera)
        .unwrap_or(order.len());
    for kind in &order[at..] {
        match kind {
            crate::scene::LayerKind::Slideshow => below.slideshow.props.visible = false,
            crate::scene::LayerKind::Bars => below.bars.props.visible = false,
            crate::scene::LayerKind::Camera => below.camera.props.visible = false,
            crate::scene::LayerKind::Boxes => below.boxes.props.visible = false,
        }
    }
    below
}

impl Compositor for Renderer {
    /// Draws `scene` now (a frame still in flight from
    /// [`Renderer::render_pipelined`] is dropped).
    fn render_into(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError> {
        let frame = self.frames;
        self.frames += 1;
        self.pending = None;
        self.draw_now(scene, out, frame)
    }

    fn level(&self) -> DemotionLevel {
        self.level
    }

    fn backend(&self) -> Backend {
        match self.level {
            DemotionLevel::Software => Backend::Cpu,
            _ => Backend::Wgpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_moves_strictly_down() {
        let kinds = [
            FaultKind::ShaderCompile(ShaderModuleName::Slideshow),
            FaultKind::ShaderCompile(ShaderModuleName::Blit),
            FaultKind::ShaderCompile(ShaderModuleName::Overlay),
            FaultKind::DeviceLost,
            FaultKind::Validation,
            FaultKind::OutOfMemory,
            FaultKind::Internal,
        ];
        for level in [DemotionLevel::FullShaders, DemotionLevel::CompositingOnly] {
            for k in kinds {
                assert!(demotion_target(level, k) > level, "{level:?} {k:?}");
            }
        }
        assert_eq!(
            demotion_target(
                DemotionLevel::FullShaders,
                FaultKind::ShaderCompile(ShaderModuleName::Slideshow)
            ),
            DemotionLevel::CompositingOnly
        );
        assert_eq!(
            demotion_target(DemotionLevel::FullShaders, FaultKind::DeviceLost),
            DemotionLevel::Software
        );
    }

    #[test]
    fn a_session_can_move_to_the_compositor_thread() {
        fn send<T: Send + 'static>() {}
        send::<Renderer>();
        send::<CpuCompositor>();
        send::<GpuCompositor>();
    }

    #[test]
    fn forced_cpu_starts_in_software_without_probing() {
        let r = Renderer::open(RendererOptions {
            backend: BackendRequest::Cpu,
            ..Default::default()
        })
        .expect("cpu always opens");
        assert_eq!(r.level(), DemotionLevel::Software);
        assert_eq!(r.choice().reason, ChoiceReason::Forced);
        assert!(r.choice().adapter.is_none());
    }
}
