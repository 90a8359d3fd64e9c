//! From a foreground mask to blobs: morphological opening (drops speckle) and
//! closing (fills holes, joins fragments) and 8-connected component labelling,
//! all from `imageproc`, then one pass that gathers each blob's extent and
//! pixel count.

use image::{GrayImage, ImageBuffer, Luma};
use imageproc::distance_transform::Norm;
use imageproc::morphology::{close_mut, open_mut};
use imageproc::region_labelling::{Connectivity, connected_components};

/// A connected foreground region, in low-resolution pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blob {
    /// Label in the component image (1-based).
    pub(crate) label: u32,
    /// Leftmost column.
    pub(crate) x0: u32,
    /// Topmost row.
    pub(crate) y0: u32,
    /// Rightmost column (inclusive).
    pub(crate) x1: u32,
    /// Bottom row (inclusive).
    pub(crate) y1: u32,
    /// Foreground pixels.
    pub(crate) pixels: u32,
}

impl Blob {
    /// Pixels of the bounding box.
    pub(crate) fn box_area(&self) -> u32 {
        (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)
    }
}

/// Component labels, one `u32` per low-resolution pixel (0 = background).
pub(crate) type Labels = ImageBuffer<Luma<u32>, Vec<u32>>;

/// Opening with radius `open` then closing with radius `close` (chessboard
/// norm: square structuring elements of side `2r + 1`); radius 0 skips.
pub(crate) fn clean(mask: &mut GrayImage, open: u8, close: u8) {
    if open > 0 {
        open_mut(mask, Norm::LInf, open);
    }
    if close > 0 {
        close_mut(mask, Norm::LInf, close);
    }
}

/// Label the 8-connected components of `mask` and measure each.
pub(crate) fn label(mask: &GrayImage) -> (Labels, Vec<Blob>) {
    let labels = connected_components(mask, Connectivity::Eight, Luma([0u8]));
    let width = mask.width();
    let mut blobs: Vec<Blob> = Vec::new();
    for (i, &l) in labels.as_raw().iter().enumerate() {
        if l == 0 {
            continue;
        }
        let (x, y) = (i as u32 % width, i as u32 / width);
        let idx = l as usize - 1;
        if idx >= blobs.len() {
            blobs.resize(
                idx + 1,
                Blob {
                    label: 0,
                    x0: u32::MAX,
                    y0: u32::MAX,
                    x1: 0,
                    y1: 0,
                    pixels: 0,
                },
            );
        }
        let b = &mut blobs[idx];
        b.label = l;
        b.x0 = b.x0.min(x);
        b.y0 = b.y0.min(y);
        b.x1 = b.x1.max(x);
        b.y1 = b.y1.max(y);
        b.pixels += 1;
    }
    blobs.retain(|b| b.pixels > 0);
    (labels, blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_with(rects: &[(u32, u32, u32, u32)]) -> GrayImage {
        GrayImage::from_fn(40, 30, |x, y| {
            let on = rects
                .iter()
                .any(|&(x0, y0, w, h)| x >= x0 && x < x0 + w && y >= y0 && y < y0 + h);
            Luma([if on { 255 } else { 0 }])
        })
    }

    #[test]
    fn two_separate_rectangles_are_two_blobs_with_exact_extents() {
        let mask = mask_with(&[(2, 3, 5, 4), (20, 10, 8, 8)]);
        let (_, mut blobs) = label(&mask);
        blobs.sort_by_key(|b| b.x0);
        assert_eq!(blobs.len(), 2);
        assert_eq!(
            (
                blobs[0].x0,
                blobs[0].y0,
                blobs[0].x1,
                blobs[0].y1,
                blobs[0].pixels
            ),
            (2, 3, 6, 6, 20)
        );
        assert_eq!(
            (
                blobs[1].x0,
                blobs[1].y0,
                blobs[1].x1,
                blobs[1].y1,
                blobs[1].pixels
            ),
            (20, 10, 27, 17, 64)
        );
    }

    #[test]
    fn opening_removes_speckle_and_closing_fills_a_hole() {
        let mut mask = mask_with(&[(5, 5, 10, 10), (30, 2, 1, 1)]);
        mask.put_pixel(9, 9, Luma([0]));
        clean(&mut mask, 1, 1);
        let (_, blobs) = label(&mask);
        assert_eq!(blobs.len(), 1, "speckle gone");
        assert_eq!(blobs[0].pixels, 100, "hole filled");
    }
}
