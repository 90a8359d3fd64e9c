//! Axis-aligned boxes in pixel coordinates and the overlap measures that
//! detection, tracking and scoring all share.

use serde::{Deserialize, Serialize};

/// An axis-aligned box: top-left corner `(x, y)`, width `w`, height `h`, in
/// pixels of the full-resolution frame (the MOTChallenge convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width (≥ 0).
    pub w: f32,
    /// Height (≥ 0).
    pub h: f32,
}

impl BBox {
    /// A box from its top-left corner and size.
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }

    /// A box from its centre and size.
    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        Self::new(cx - w / 2.0, cy - h / 2.0, w, h)
    }

    /// Centre x.
    pub fn cx(&self) -> f32 {
        self.x + self.w / 2.0
    }

    /// Centre y.
    pub fn cy(&self) -> f32 {
        self.y + self.h / 2.0
    }

    /// Right edge (`x + w`).
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    /// Bottom edge (`y + h`).
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// Area (0 for degenerate boxes).
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Area of the intersection with `other` (0 when disjoint).
    pub fn intersection(&self, other: &BBox) -> f32 {
        let w = self.right().min(other.right()) - self.x.max(other.x);
        let h = self.bottom().min(other.bottom()) - self.y.max(other.y);
        if w <= 0.0 || h <= 0.0 { 0.0 } else { w * h }
    }

    /// Intersection over union, in `[0, 1]`; 0 when either box is empty.
    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// Fraction of this box's area that `other` covers, in `[0, 1]`.
    pub fn covered_by(&self, other: &BBox) -> f32 {
        let area = self.area();
        if area <= 0.0 {
            0.0
        } else {
            self.intersection(other) / area
        }
    }

    /// The part of this box inside a `width × height` frame; `None` when
    /// nothing of it is inside.
    pub fn clip(&self, width: u32, height: u32) -> Option<BBox> {
        let x0 = self.x.max(0.0);
        let y0 = self.y.max(0.0);
        let x1 = self.right().min(width as f32);
        let y1 = self.bottom().min(height as f32);
        if x1 <= x0 || y1 <= y0 {
            None
        } else {
            Some(BBox::new(x0, y0, x1 - x0, y1 - y0))
        }
    }

    /// Whether every coordinate is finite and the size is not negative.
    pub fn is_valid(&self) -> bool {
        [self.x, self.y, self.w, self.h]
            .iter()
            .all(|v| v.is_finite())
            && self.w >= 0.0
            && self.h >= 0.0
    }
}

/// Which sides of a box lie on the frame's border: there the box is cut by
/// the frame and that side is not the object's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Border {
    /// Touches the left edge.
    pub left: bool,
    /// Touches the top edge.
    pub top: bool,
    /// Touches the right edge.
    pub right: bool,
    /// Touches the bottom edge.
    pub bottom: bool,
}

impl Border {
    /// The four flags as bits (left 1, top 2, right 4, bottom 8).
    pub fn bits(self) -> u8 {
        u8::from(self.left)
            | u8::from(self.top) << 1
            | u8::from(self.right) << 2
            | u8::from(self.bottom) << 3
    }

    /// Flags from bits; `None` when a bit above the four is set.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits < 16).then_some(Border {
            left: bits & 1 != 0,
            top: bits & 2 != 0,
            right: bits & 4 != 0,
            bottom: bits & 8 != 0,
        })
    }

    /// Whether any side touches.
    pub fn any(self) -> bool {
        self.bits() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_boxes_is_one_and_of_disjoint_boxes_zero() {
        let a = BBox::new(10.0, 10.0, 20.0, 10.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox::new(40.0, 40.0, 5.0, 5.0)), 0.0);
    }

    #[test]
    fn iou_of_half_shifted_boxes_is_one_third() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BBox::new(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert!((a.covered_by(&b) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn clip_keeps_the_inside_part_and_drops_boxes_outside() {
        let a = BBox::new(-5.0, 10.0, 20.0, 10.0);
        assert_eq!(a.clip(100, 100), Some(BBox::new(0.0, 10.0, 15.0, 10.0)));
        assert_eq!(BBox::new(120.0, 0.0, 5.0, 5.0).clip(100, 100), None);
    }

    #[test]
    fn degenerate_boxes_have_zero_overlap() {
        let a = BBox::new(0.0, 0.0, 0.0, 10.0);
        assert_eq!(a.iou(&a), 0.0);
        assert!(!BBox::new(f32::NAN, 0.0, 1.0, 1.0).is_valid());
    }
}
