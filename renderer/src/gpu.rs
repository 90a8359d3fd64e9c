//! The wgpu compositor: the slideshow pass (transition shader at level A, a
//! blit at level B), then the overlay quads, into an offscreen RGBA8
//! texture that is read back into the caller's frame. Failures come back as
//! `GpuFault`s for the ladder in `session.rs` to act on.

mod context;
mod faults;
mod floor;
mod pipelines;
mod readback;
mod resources;

use std::sync::Arc;

pub use context::AdapterSummary;
pub(crate) use context::best_adapter;
pub use faults::{FaultInjection, FaultKind, GpuFault, ShaderModuleName};
pub use floor::readback_floor;

use crate::compositor::{Backend, Compositor, DemotionLevel};
use crate::error::RenderError;
use crate::fixed::ViewportMap;
use crate::frame::Frame;
use crate::overlay::{Quad, layer_quads};
use crate::scene::{LayerKind, Scene};
use crate::tables::{TableCache, TransitionTables};
use context::GpuContext;
use pipelines::{Pipelines, slideshow_entry};
use readback::Target;
use resources::{Dummies, ImageCache, QuadBuffer, TableTextures};

/// Shader code of "no transition": the slideshow shows its image.
const NO_TRANSITION: u32 = u32::MAX;

/// Why a GPU frame failed: the scene was bad (no demotion), or the GPU was.
#[derive(Debug)]
pub(crate) enum GpuError {
    Scene(RenderError),
    Fault(GpuFault),
}

impl From<GpuFault> for GpuError {
    fn from(f: GpuFault) -> Self {
        GpuError::Fault(f)
    }
}

/// The wgpu compositor (levels A and B).
pub struct GpuCompositor {
    ctx: GpuContext,
    pipelines: Pipelines,
    faults: FaultInjection,
    frames: u64,
    target: Option<Target>,
    images: ImageCache,
    table_textures: TableTextures,
    tables: TableCache,
    dummies: Dummies,
    params: wgpu::Buffer,
    instances: QuadBuffer,
    quads: Vec<Quad>,
}

impl std::fmt::Debug for GpuCompositor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuCompositor")
            .field("adapter", &self.ctx.summary)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl GpuCompositor {
    /// Opens the best adapter there is, hardware or software.
    pub fn open_best(faults: FaultInjection) -> Result<Self, RenderError> {
        let adapter = context::best_adapter().map_err(RenderError::NoAdapter)?;
        Self::open(&adapter, faults)
    }

    pub(crate) fn open(
        adapter: &wgpu::Adapter,
        faults: FaultInjection,
    ) -> Result<Self, RenderError> {
        let ctx = GpuContext::open(adapter)?;
        let pipelines = Pipelines::new(&ctx.device);
        let dummies = Dummies::new(&ctx.device, &ctx.queue);
        let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: 48,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut gpu = Self {
            ctx,
            pipelines,
            faults,
            frames: 0,
            target: None,
            images: ImageCache::default(),
            table_textures: TableTextures::default(),
            tables: TableCache::default(),
            dummies,
            params,
            instances: QuadBuffer::default(),
            quads: Vec::new(),
        };
        gpu.warm_pipelines();
        Ok(gpu)
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.ctx.summary
    }

    /// Image textures written over for a new image of the same size
    /// instead of created (the slideshow's steady state).
    pub fn image_textures_reused(&self) -> u64 {
        self.images.reused
    }

    /// Classifies a failure: a lost device explains everything after it.
    fn fault(&self, kind: FaultKind, detail: String) -> GpuFault {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        match self.ctx.lost() {
            Some(why) => GpuFault::new(FaultKind::DeviceLost, format!("{why} ({detail})")),
            None => GpuFault::new(kind, detail),
        }
    }

    fn ensure_pipeline(
        &mut self,
        name: ShaderModuleName,
        entry: &'static str,
    ) -> Result<(), GpuFault> {
        let broken = self.faults.break_shader == Some(name);
        self.pipelines
            .ensure(&self.ctx.device, name, entry, broken)
            .map_err(|f| self.fault(f.kind, f.detail))
    }

    /// Draws `scene` into `out` with the transition shader (`full`) or the
    /// blit, and waits for it.
    pub(crate) fn draw(
        &mut self,
        full: bool,
        scene: &Scene,
        out: &mut Frame,
    ) -> Result<(), GpuError> {
        if self.pending() > 0 {
            self.discard();
        }
        self.submit(full, scene)?;
        self.collect(out).map_err(GpuError::Fault)
    }

    /// Frames submitted and not yet collected.
    pub(crate) fn pending(&self) -> usize {
        self.target.as_ref().map_or(0, Target::pending)
    }

    /// Gives up every frame submitted and not collected.
    pub(crate) fn discard(&mut self) {
        let device = self.ctx.device.clone();
        if let Some(target) = self.target.as_mut() {
            target.discard(&device);
        }
    }

    /// Copies the oldest frame submitted and not collected into `out`,
    /// waiting for the GPU only if it has not finished it yet.
    pub(crate) fn collect(&mut self, out: &mut Frame) -> Result<(), GpuFault> {
        let device = self.ctx.device.clone();
        let read = match self.target.as_mut() {
            Some(target) => {
                out.reshape(target.width, target.height);
                target.read_oldest(&device, out.data_mut())
            }
            None => Err(GpuFault::new(
                FaultKind::Internal,
                "readback of a frame that was never submitted",
            )),
        };
        read.map_err(|f| self.fault(f.kind, f.detail))?;
        if let Some(why) = self.ctx.lost() {
            return Err(GpuFault::new(FaultKind::DeviceLost, why));
        }
        Ok(())
    }

    /// Creates every pipeline a session can use (each transition's, the
    /// blit, the overlays), so that no frame waits for a shader compile:
    /// the first frame of a new transition kind would otherwise stall the
    /// loop for tens of ms. A module that fails here (an injected break) is
    /// left to fail at its first use, where the ladder acts on it.
    fn warm_pipelines(&mut self) {
        let mut entries: Vec<(ShaderModuleName, &'static str)> = vec![
            (ShaderModuleName::Slideshow, slideshow_entry(None)),
            (ShaderModuleName::Blit, "fs"),
            (ShaderModuleName::Overlay, "fs"),
        ];
        entries.extend(
            crate::transition::TransitionKind::ALL
                .iter()
                .map(|kind| (ShaderModuleName::Slideshow, slideshow_entry(Some(*kind)))),
        );
        for (name, entry) in entries {
            if self.faults.break_shader == Some(name) {
                continue;
            }
            if let Err(fault) = self.ensure_pipeline(name, entry) {
                tracing::debug!(%fault, entry, "a pipeline was not warmed up");
            }
        }
    }

    /// Encodes and submits `scene` (see [`draw`](Self::draw)); its frame is
    /// then collected by [`collect`](Self::collect), oldest first. At most
    /// [`readback::RING`] frames may be in flight.
    pub(crate) fn submit(&mut self, full: bool, scene: &Scene) -> Result<(), GpuError> {
        scene.validate().map_err(GpuError::Scene)?;
        let frame_no = self.frames;
        self.frames += 1;
        if let Some(why) = self.ctx.lost() {
            return Err(GpuFault::new(FaultKind::DeviceLost, why).into());
        }
        if self.faults.lose_device_at_frame == Some(frame_no) {
            self.ctx.device.destroy();
        }
        let kind = scene.slideshow.transition.as_ref().map(|t| t.spec.kind);
        let slide = if full {
            (ShaderModuleName::Slideshow, slideshow_entry(kind))
        } else {
            (ShaderModuleName::Blit, "fs")
        };
        self.ensure_pipeline(slide.0, slide.1)?;
        self.ensure_pipeline(ShaderModuleName::Overlay, "fs")?;

        let (w, h) = (scene.width, scene.height);
        let device = self.ctx.device.clone();
        let queue = self.ctx.queue.clone();
        if !matches!(&self.target, Some(t) if t.width == w && t.height == h) {
            // A new size: frames of the old one still in flight are dropped.
            self.discard();
            self.target = Some(Target::new(&device, w, h));
        }
        if self.target.as_ref().is_some_and(|t| !t.has_room()) {
            return Err(GpuFault::new(
                FaultKind::Internal,
                "every readback buffer holds a frame not yet collected",
            )
            .into());
        }

        // Inputs: images, tables, uniform block.
        let ss = &scene.slideshow;
        let transition = ss.transition.as_ref();
        if let Some(img) = &ss.image {
            self.images.ensure(&device, &queue, img);
        }
        if let Some(t) = transition {
            self.images.ensure(&device, &queue, &t.from);
        }
        let tables: Option<Arc<TransitionTables>> = match transition {
            Some(t) if full => match &t.tables {
                Some(tb) => Some(Arc::clone(tb)),
                None => self
                    .tables
                    .get(t.spec.kind, w, h, t.spec.seed)
                    .map_err(GpuError::Scene)?,
            },
            _ => None,
        };
        let map = ViewportMap::new(&ss.viewport, w, h);
        let grid = tables.as_deref().and_then(TransitionTables::blockflip);
        let bg = u32::from_le_bytes(scene.background);
        let params: [u32; 12] = [
            w,
            h,
            transition.map_or(NO_TRANSITION, |t| t.spec.kind.code()),
            transition.map_or(0, |t| t.progress_q16()),
            map.ox,
            map.oy,
            map.step,
            bg,
            grid.map_or(1, |g| g.cols),
            grid.map_or(1, |g| g.rows),
            0,
            0,
        ];
        queue.write_buffer(&self.params, 0, bytemuck::cast_slice(&params));

        // Overlay quads, one range per layer.
        let order = scene.layer_order();
        self.quads.clear();
        let mut ranges = [(0u32, 0u32); 4];
        for (i, kind) in order.iter().enumerate() {
            let start = self.quads.len() as u32;
            layer_quads(scene, *kind, &mut self.quads);
            ranges[i] = (start, self.quads.len() as u32);
        }
        self.instances.upload(&device, &queue, &self.quads);

        let dissolve_view;
        let starts_view;
        let table_view = tables
            .as_ref()
            .map(|t| self.table_textures.ensure(&device, &queue, t, (w, h)));
        match (&tables, table_view) {
            (Some(t), Some(v)) if t.blockflip().is_some() => {
                dissolve_view = &self.dummies.dissolve.view;
                starts_view = v;
            }
            (Some(_), Some(v)) => {
                dissolve_view = v;
                starts_view = &self.dummies.starts.view;
            }
            _ => {
                dissolve_view = &self.dummies.dissolve.view;
                starts_view = &self.dummies.starts.view;
            }
        }
        let to_view = ss
            .image
            .as_ref()
            .and_then(|i| self.images.view(i))
            .unwrap_or(&self.dummies.image.view);
        let from_view = transition
            .and_then(|t| self.images.view(&t.from))
            .unwrap_or(to_view);
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("scene"),
            layout: &self.pipelines.bind_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(from_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(to_view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(dissolve_view),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(starts_view),
                },
            ],
        });

        let scopes = [
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ];
        let target = self
            .target
            .as_mut()
            .expect("invariant: created above for this size");
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("frame"),
        });
        {
            let c = |i: usize| f64::from(scene.background[i]) / 255.0;
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("compose"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target.view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: c(0),
                            g: c(1),
                            b: c(2),
                            a: c(3),
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            if self.faults.validation_error_at_frame == Some(frame_no) {
                // A scissor larger than the target: rejected by validation.
                pass.set_scissor_rect(0, 0, w + 1, h + 1);
            }
            pass.set_bind_group(0, &bind, &[]);
            for (kind, (start, end)) in order.iter().zip(ranges) {
                if *kind == LayerKind::Slideshow {
                    if !(ss.props.shown() && ss.image.is_some()) {
                        continue;
                    }
                    let Some(pipeline) = self.pipelines.get(slide.0, slide.1) else {
                        continue;
                    };
                    let a = f64::from(ss.props.alpha()) / 255.0;
                    pass.set_pipeline(pipeline);
                    pass.set_blend_constant(wgpu::Color {
                        r: a,
                        g: a,
                        b: a,
                        a,
                    });
                    pass.draw(0..3, 0..1);
                } else if end > start {
                    let (Some(pipeline), Some(inst)) = (
                        self.pipelines.get(ShaderModuleName::Overlay, "fs"),
                        self.instances.buffer(),
                    ) else {
                        continue;
                    };
                    pass.set_pipeline(pipeline);
                    pass.set_vertex_buffer(0, inst.slice(..));
                    pass.draw(0..6, start..end);
                }
            }
        }
        let slot = target.copy_out(&mut encoder);
        let done = queue.submit([encoder.finish()]);
        target.submitted(slot, done);
        let [validation, oom, internal] = scopes;
        let errors = [
            (FaultKind::Internal, pollster::block_on(internal.pop())),
            (FaultKind::OutOfMemory, pollster::block_on(oom.pop())),
            (FaultKind::Validation, pollster::block_on(validation.pop())),
        ];
        if let Some((kind, Some(e))) = errors.into_iter().find(|(_, e)| e.is_some()) {
            return Err(self.fault(kind, e.to_string()).into());
        }
        if let Some(e) = self.ctx.take_uncaptured().into_iter().next() {
            return Err(self.fault(FaultKind::Validation, e).into());
        }
        Ok(())
    }
}

impl Compositor for GpuCompositor {
    /// Draws at level A; a GPU failure is an error here (the ladder in
    /// [`crate::Renderer`] is what demotes).
    fn render_into(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError> {
        self.draw(true, scene, out).map_err(|e| match e {
            GpuError::Scene(e) => e,
            GpuError::Fault(f) => RenderError::Gpu(f),
        })
    }

    fn level(&self) -> DemotionLevel {
        DemotionLevel::FullShaders
    }

    fn backend(&self) -> Backend {
        Backend::Wgpu
    }
}

#[cfg(test)]
mod gl_tests;
