//! The CPU compositor: integer fixed-point, row-major, one core. Slideshow
//! (transition, viewport, opacity) then overlays, in layer order, straight
//! into the caller's frame.

mod blend;
mod compose;
mod inset;

use std::sync::Arc;

use crate::compositor::{Backend, Compositor, DemotionLevel};
use crate::error::RenderError;
use crate::fixed::ViewportMap;
use crate::frame::Frame;
use crate::overlay::{Quad, layer_quads};
use crate::scene::{LayerKind, Scene};
use crate::tables::{TableCache, TransitionTables};

use compose::{Scratch, compose};

/// The software compositor (demotion level C, and the reference the wgpu
/// path is tested against).
#[derive(Default)]
pub struct CpuCompositor {
    tables: TableCache,
    work: Scratch,
    gradient: blend::GradientRows,
    scratch: Vec<u8>,
    row: Vec<u8>,
    xmap: Vec<u32>,
    quads: Vec<Quad>,
}

impl std::fmt::Debug for CpuCompositor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuCompositor").finish_non_exhaustive()
    }
}

impl CpuCompositor {
    /// A compositor with empty caches.
    pub fn new() -> Self {
        Self::default()
    }

    fn draw_slideshow(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError> {
        let ss = &scene.slideshow;
        let Some(image) = &ss.image else {
            return Ok(());
        };
        if !ss.props.shown() {
            return Ok(());
        }
        let (w, h) = (scene.width, scene.height);
        let alpha = ss.props.alpha();
        let map = ViewportMap::new(&ss.viewport, w, h);
        let direct = alpha == 255 && map.is_identity();
        let src: &[u8] = match &ss.transition {
            None => image.data(),
            Some(t) => {
                let tables: Option<Arc<TransitionTables>> = match &t.tables {
                    Some(tb) => Some(Arc::clone(tb)),
                    None => self.tables.get(t.spec.kind, w, h, t.spec.seed)?,
                };
                let inputs = compose::Inputs {
                    from: t.from.data(),
                    to: image.data(),
                    width: w,
                    height: h,
                    background: scene.background,
                    progress: t.progress_q16(),
                    tables: tables.as_deref(),
                };
                if direct {
                    compose(t.spec.kind, &inputs, out.data_mut(), &mut self.work);
                    return Ok(());
                }
                self.scratch.resize(out.data().len(), 0);
                compose(t.spec.kind, &inputs, &mut self.scratch, &mut self.work);
                &self.scratch
            }
        };
        if map.is_identity() {
            blend::put(out.data_mut(), src, alpha);
        } else {
            blend::put_viewport(
                out.data_mut(),
                src,
                w,
                h,
                &map,
                alpha,
                &mut self.xmap,
                &mut self.row,
            );
        }
        Ok(())
    }
}

impl CpuCompositor {
    /// Draws `layers` (bottom to top) over what `out` holds.
    fn draw_layers(
        &mut self,
        scene: &Scene,
        layers: &[LayerKind],
        out: &mut Frame,
    ) -> Result<(), RenderError> {
        for kind in layers {
            match kind {
                LayerKind::Slideshow => self.draw_slideshow(scene, out)?,
                LayerKind::Camera => inset::draw(out, &scene.camera, &mut self.xmap),
                LayerKind::Bars | LayerKind::Boxes => {
                    self.quads.clear();
                    layer_quads(scene, *kind, &mut self.quads);
                    blend::quads(out, &self.quads, &mut self.gradient);
                }
            }
        }
        Ok(())
    }

    /// Draws the camera layer and every layer above it over `out` (a frame
    /// the GPU drew without them: the inset is a CPU pass for now).
    pub(crate) fn draw_from_camera(
        &mut self,
        scene: &Scene,
        out: &mut Frame,
    ) -> Result<(), RenderError> {
        let order = scene.layer_order();
        let from = order
            .iter()
            .position(|k| *k == LayerKind::Camera)
            .unwrap_or(order.len());
        self.draw_layers(scene, &order[from..], out)
    }

    /// The common case, fused: the slideshow covers the canvas at opacity 1
    /// through an identity viewport, so each band of rows is drawn from the
    /// images and then has the overlays above it blended in while it is still
    /// in cache. Layers below the slideshow are hidden by it.
    fn draw_fused(
        &mut self,
        scene: &Scene,
        image: &Frame,
        out: &mut Frame,
    ) -> Result<(), RenderError> {
        let (w, h) = (scene.width, scene.height);
        let order = scene.layer_order();
        self.quads.clear();
        for kind in order
            .iter()
            .skip_while(|k| **k != LayerKind::Slideshow)
            .skip(1)
        {
            layer_quads(scene, *kind, &mut self.quads);
        }
        let tables = match &scene.slideshow.transition {
            Some(t) => match &t.tables {
                Some(tb) => Some(Arc::clone(tb)),
                None => self.tables.get(t.spec.kind, w, h, t.spec.seed)?,
            },
            None => None,
        };
        let transition = scene.slideshow.transition.as_ref().map(|t| {
            (
                t.spec.kind,
                compose::Inputs {
                    from: t.from.data(),
                    to: image.data(),
                    width: w,
                    height: h,
                    background: scene.background,
                    progress: t.progress_q16(),
                    tables: tables.as_deref(),
                },
            )
        });
        if let Some((kind, inputs)) = &transition {
            compose::prepare(*kind, inputs, &mut self.work);
        }
        let n = out.stride();
        let mut y0 = 0;
        while y0 < h {
            let y1 = (y0 + blend::BAND_ROWS).min(h);
            let band = &mut out.data_mut()[y0 as usize * n..y1 as usize * n];
            match &transition {
                Some((kind, inputs)) => compose::rows(*kind, inputs, &self.work, y0, y1, band),
                None => band.copy_from_slice(&image.data()[y0 as usize * n..y1 as usize * n]),
            }
            blend::quads_in(out, &self.quads, y0, y1, &mut self.gradient);
            y0 = y1;
        }
        Ok(())
    }
}

impl Compositor for CpuCompositor {
    fn render_into(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError> {
        scene.validate()?;
        out.reshape(scene.width, scene.height);
        let order = scene.layer_order();
        let ss = &scene.slideshow;
        let covered = order.iter().find(|k| match k {
            LayerKind::Slideshow => ss.props.shown(),
            LayerKind::Bars => scene.bars.props.shown() && !scene.bars.bars.is_empty(),
            LayerKind::Camera => scene.camera.shown(),
            LayerKind::Boxes => scene.boxes.props.shown() && !scene.boxes.boxes.is_empty(),
        }) == Some(&LayerKind::Slideshow)
            && ss.props.alpha() == 255;
        // The fused path blends quads only: a picture above the slideshow
        // takes the general one.
        if let Some(image) = &ss.image
            && covered
            && !scene.camera.shown()
            && ViewportMap::new(&ss.viewport, scene.width, scene.height).is_identity()
        {
            return self.draw_fused(scene, image, out);
        }
        let covered = covered && ss.image.is_some();
        if !covered {
            blend::fill(out.data_mut(), scene.background);
        }
        self.draw_layers(scene, &order, out)
    }

    fn level(&self) -> DemotionLevel {
        DemotionLevel::Software
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
    }
}
