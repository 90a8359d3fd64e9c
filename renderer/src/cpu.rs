//! The CPU compositor: integer fixed-point, row-major, one core. Slideshow
//! (transition, viewport, opacity) then overlays, in layer order, straight
//! into the caller's frame.

mod blend;
mod compose;

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

impl Compositor for CpuCompositor {
    fn render_into(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError> {
        scene.validate()?;
        out.reshape(scene.width, scene.height);
        let order = scene.layer_order();
        let ss = &scene.slideshow;
        let covered = order.iter().find(|k| match k {
            LayerKind::Slideshow => ss.props.shown(),
            LayerKind::Bars => scene.bars.props.shown() && !scene.bars.bars.is_empty(),
            LayerKind::Boxes => scene.boxes.props.shown() && !scene.boxes.boxes.is_empty(),
        }) == Some(&LayerKind::Slideshow)
            && ss.props.alpha() == 255
            && ss.image.is_some();
        if !covered {
            blend::fill(out.data_mut(), scene.background);
        }
        for kind in order {
            match kind {
                LayerKind::Slideshow => self.draw_slideshow(scene, out)?,
                LayerKind::Bars | LayerKind::Boxes => {
                    self.quads.clear();
                    layer_quads(scene, kind, &mut self.quads);
                    blend::quads(out, &self.quads, &mut self.gradient);
                }
            }
        }
        Ok(())
    }

    fn level(&self) -> DemotionLevel {
        DemotionLevel::Software
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
    }
}
