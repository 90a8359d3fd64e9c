//! The scene model: what the scene store drives and the compositor draws —
//! a canvas, four layers (slideshow, spectrum bars, a camera inset,
//! detection boxes) with visibility, opacity and order, and a viewport over
//! the slideshow.

use std::sync::Arc;

use crate::error::RenderError;
use crate::frame::{Frame, Rgba, check_size};
use crate::transition::ActiveTransition;

/// The layer kinds, bottom to top by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// Images and the transition between them.
    Slideshow,
    /// Spectrum bars with peak markers.
    Bars,
    /// A picture in the picture (a camera's frame), scaled into a rectangle.
    Camera,
    /// Detection boxes with track ids.
    Boxes,
}

/// What every layer has: visibility, opacity and a place in the stack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerProps {
    /// Drawn at all.
    pub visible: bool,
    /// `0..=1`; multiplies the layer's own alpha.
    pub opacity: f32,
    /// Stacking order: lower is drawn first (below); ties keep the kind order.
    pub order: i32,
}

impl LayerProps {
    /// Visible, opaque, at `order`.
    pub fn at(order: i32) -> Self {
        Self {
            visible: true,
            opacity: 1.0,
            order,
        }
    }

    /// The opacity as an 8-bit alpha (checked by [`Scene::validate`]).
    pub(crate) fn alpha(&self) -> u8 {
        (self.opacity.clamp(0.0, 1.0) * 255.0).round() as u8
    }

    /// Whether the layer contributes anything.
    pub(crate) fn shown(&self) -> bool {
        self.visible && self.alpha() > 0
    }
}

/// A rectangle in fractions of the canvas (`0..=1` on both axes; parts
/// outside the canvas are clipped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormRect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

/// Zoom and pan over the slideshow layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    /// Magnification, `1..=16`; 1 shows the whole image.
    pub zoom: f32,
    /// The image point shown at the canvas centre, in fractions of the image
    /// (`[0.5, 0.5]` is the middle); kept inside so no border shows.
    pub center: [f32; 2],
}

impl Default for Viewport {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            center: [0.5, 0.5],
        }
    }
}

impl Viewport {
    /// The largest zoom accepted.
    pub const MAX_ZOOM: f32 = 16.0;
}

/// The slideshow layer: the current image, perhaps a transition into it.
#[derive(Clone, Debug)]
pub struct Slideshow {
    /// Visibility, opacity, order.
    pub props: LayerProps,
    /// Zoom and pan.
    pub viewport: Viewport,
    /// The image shown (the target while a transition runs); canvas-sized.
    pub image: Option<Arc<Frame>>,
    /// A transition from another image into `image`.
    pub transition: Option<ActiveTransition>,
}

/// One spectrum bar.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Bar {
    /// Height as a fraction of the bars area, clamped to `0..=1`.
    pub magnitude: f32,
    /// The peak marker's height, clamped to `0..=1` (see [`crate::PeakFall`]).
    pub peak: f32,
}

/// How the bars look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarsStyle {
    /// Where the bars stand (they grow up from its bottom edge).
    pub area: NormRect,
    /// The gap between bars as a fraction of a bar's slot (`0..1`).
    pub gap: f32,
    /// Gradient colour at the area's bottom.
    pub bottom: Rgba,
    /// Gradient colour at the area's top.
    pub top: Rgba,
    /// Peak marker colour.
    pub peak: Rgba,
    /// Peak marker height in pixels.
    pub peak_height: u32,
}

impl Default for BarsStyle {
    fn default() -> Self {
        Self {
            area: NormRect {
                x: 0.0,
                y: 0.7,
                w: 1.0,
                h: 0.3,
            },
            gap: 0.2,
            bottom: [40, 200, 120, 220],
            top: [250, 60, 90, 220],
            peak: [255, 255, 255, 230],
            peak_height: 2,
        }
    }
}

/// The spectrum bars layer.
#[derive(Clone, Debug)]
pub struct Bars {
    /// Visibility, opacity, order.
    pub props: LayerProps,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// Look.
    pub style: BarsStyle,
}

/// One detection box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionBox {
    /// Where, in fractions of the canvas.
    pub rect: NormRect,
    /// The tracker's id: picks the colour and is drawn as a label.
    pub track_id: u32,
}

/// How boxes look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStyle {
    /// Outline thickness in pixels.
    pub thickness: u32,
    /// Alpha of outlines and label tags.
    pub alpha: u8,
    /// Draw the track id above each box.
    pub labels: bool,
}

impl Default for BoxStyle {
    fn default() -> Self {
        Self {
            thickness: 2,
            alpha: 220,
            labels: true,
        }
    }
}

/// The detection boxes layer.
#[derive(Clone, Debug)]
pub struct Boxes {
    /// Visibility, opacity, order.
    pub props: LayerProps,
    /// The boxes, drawn in this order.
    pub boxes: Vec<DetectionBox>,
    /// Look.
    pub style: BoxStyle,
}

/// A picture in the picture: an image of any size, scaled (nearest
/// neighbour) into a rectangle of the canvas.
#[derive(Clone, Debug)]
pub struct Inset {
    /// Visibility, opacity, order.
    pub props: LayerProps,
    /// Where, in fractions of the canvas (parts outside are clipped).
    pub rect: NormRect,
    /// The picture, if there is one yet.
    pub image: Option<Arc<Frame>>,
}

impl Inset {
    /// Whether it draws anything.
    pub(crate) fn shown(&self) -> bool {
        self.props.shown() && self.image.is_some() && self.rect.w > 0.0 && self.rect.h > 0.0
    }
}

/// Everything one frame shows.
#[derive(Clone, Debug)]
pub struct Scene {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// What shows where no layer draws (and in a flipping block's gap).
    pub background: Rgba,
    /// The slideshow layer.
    pub slideshow: Slideshow,
    /// The spectrum bars layer.
    pub bars: Bars,
    /// The camera inset layer.
    pub camera: Inset,
    /// The detection boxes layer.
    pub boxes: Boxes,
}

impl Scene {
    /// An empty scene: opaque black, slideshow below bars below boxes, no content.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            background: [0, 0, 0, 255],
            slideshow: Slideshow {
                props: LayerProps::at(0),
                viewport: Viewport::default(),
                image: None,
                transition: None,
            },
            bars: Bars {
                props: LayerProps::at(1),
                bars: Vec::new(),
                style: BarsStyle::default(),
            },
            camera: Inset {
                props: LayerProps::at(2),
                rect: NormRect {
                    x: 0.72,
                    y: 0.04,
                    w: 0.25,
                    h: 0.25,
                },
                image: None,
            },
            boxes: Boxes {
                props: LayerProps::at(3),
                boxes: Vec::new(),
                style: BoxStyle::default(),
            },
        }
    }

    /// The layers bottom to top.
    pub fn layer_order(&self) -> [LayerKind; 4] {
        let mut layers = [
            (self.slideshow.props.order, LayerKind::Slideshow),
            (self.bars.props.order, LayerKind::Bars),
            (self.camera.props.order, LayerKind::Camera),
            (self.boxes.props.order, LayerKind::Boxes),
        ];
        // Stable: ties keep the kind order above.
        layers.sort_by_key(|(order, _)| *order);
        layers.map(|(_, kind)| kind)
    }

    /// Checks every value the compositor relies on; both paths call this
    /// before drawing, so a bad scene is an error, never a GPU fault.
    pub fn validate(&self) -> Result<(), RenderError> {
        check_size("canvas", self.width, self.height)?;
        for (name, p) in [
            ("slideshow.opacity", &self.slideshow.props),
            ("bars.opacity", &self.bars.props),
            ("camera.opacity", &self.camera.props),
            ("boxes.opacity", &self.boxes.props),
        ] {
            unit(name, p.opacity)?;
        }
        let v = &self.slideshow.viewport;
        if !(v.zoom.is_finite() && (1.0..=Viewport::MAX_ZOOM).contains(&v.zoom)) {
            return Err(invalid("slideshow.viewport.zoom", v.zoom, "1..=16"));
        }
        unit("slideshow.viewport.center[0]", v.center[0])?;
        unit("slideshow.viewport.center[1]", v.center[1])?;
        if let Some(img) = &self.slideshow.image {
            self.check_canvas_sized("slideshow image", img)?;
        }
        if let Some(t) = &self.slideshow.transition {
            self.check_canvas_sized("transition source", &t.from)?;
            if t.time.is_nan() {
                return Err(invalid("slideshow.transition.time", t.time, "0..=1"));
            }
            if let Some(tables) = &t.tables {
                tables.check(t.spec.kind, self.width, self.height, t.spec.seed)?;
            }
        }
        let s = &self.bars.style;
        if !(s.gap.is_finite() && (0.0..1.0).contains(&s.gap)) {
            return Err(invalid("bars.style.gap", s.gap, "0..1"));
        }
        rect(|| "bars.style.area".to_owned(), &s.area)?;
        // Field names are formatted only on failure: this runs every frame.
        for (i, b) in self.bars.bars.iter().enumerate() {
            finite(|| format!("bars[{i}].magnitude"), b.magnitude)?;
            finite(|| format!("bars[{i}].peak"), b.peak)?;
        }
        for (i, b) in self.boxes.boxes.iter().enumerate() {
            rect(|| format!("boxes[{i}].rect"), &b.rect)?;
        }
        rect(|| "camera.rect".to_owned(), &self.camera.rect)?;
        Ok(())
    }

    fn check_canvas_sized(&self, what: &'static str, f: &Frame) -> Result<(), RenderError> {
        if f.width() != self.width || f.height() != self.height {
            return Err(RenderError::SizeMismatch {
                what,
                width: f.width(),
                height: f.height(),
                canvas_width: self.width,
                canvas_height: self.height,
            });
        }
        Ok(())
    }
}

fn invalid(field: &str, value: impl std::fmt::Display, expected: &'static str) -> RenderError {
    RenderError::InvalidValue {
        field: field.to_owned(),
        value: value.to_string(),
        expected,
    }
}

fn unit(field: &str, v: f32) -> Result<(), RenderError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(field, v, "0..=1"))
    }
}

fn finite(field: impl Fn() -> String, v: f32) -> Result<(), RenderError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(&field(), v, "a finite number"))
    }
}

fn rect(field: impl Fn() -> String, r: &NormRect) -> Result<(), RenderError> {
    for (part, v) in [("x", r.x), ("y", r.y), ("w", r.w), ("h", r.h)] {
        finite(|| format!("{}.{part}", field()), v)?;
    }
    if r.w < 0.0 || r.h < 0.0 {
        return Err(invalid(
            &field(),
            format!("{r:?}"),
            "non-negative width and height",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_order_sorts_by_order_and_keeps_ties_stable() {
        let mut s = Scene::new(8, 8);
        assert_eq!(
            s.layer_order(),
            [
                LayerKind::Slideshow,
                LayerKind::Bars,
                LayerKind::Camera,
                LayerKind::Boxes
            ]
        );
        s.slideshow.props.order = 5;
        s.boxes.props.order = 1;
        assert_eq!(
            s.layer_order(),
            [
                LayerKind::Bars,
                LayerKind::Boxes,
                LayerKind::Camera,
                LayerKind::Slideshow
            ]
        );
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut s = Scene::new(8, 8);
        assert!(s.validate().is_ok());
        s.boxes.boxes.push(DetectionBox {
            rect: NormRect {
                x: 0.1,
                y: f32::NAN,
                w: 0.2,
                h: 0.2,
            },
            track_id: 4,
        });
        let err = s.validate().expect_err("NaN");
        assert!(err.to_string().contains("boxes[0].rect.y"), "{err}");
        s.boxes.boxes.clear();
        s.slideshow.viewport.zoom = 0.5;
        let err = s.validate().expect_err("zoom < 1");
        assert!(err.to_string().contains("zoom"), "{err}");
        s.slideshow.viewport.zoom = 1.0;
        s.slideshow.image = Some(Arc::new(Frame::filled(9, 8, [0; 4]).expect("valid")));
        assert!(matches!(
            s.validate(),
            Err(RenderError::SizeMismatch { width: 9, .. })
        ));
    }
}
