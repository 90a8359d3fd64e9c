//! Summed-area table of a binary mask: the number of set pixels in any
//! rectangle in O(1).

/// Counts of set pixels over `[0, x) × [0, y)` for every `(x, y)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Integral {
    width: usize,
    height: usize,
    sums: Vec<u32>,
}

impl Integral {
    /// Rebuild from a row-major mask of `width × height` (non-zero = set).
    pub(crate) fn rebuild(&mut self, mask: &[u8], width: usize, height: usize) {
        self.width = width;
        self.height = height;
        let stride = width + 1;
        self.sums.clear();
        self.sums.resize(stride * (height + 1), 0);
        if width == 0 {
            return;
        }
        for (y, row) in mask.chunks_exact(width).take(height).enumerate() {
            let mut run = 0u32;
            for (x, &m) in row.iter().enumerate() {
                run += u32::from(m != 0);
                self.sums[(y + 1) * stride + x + 1] = self.sums[y * stride + x + 1] + run;
            }
        }
    }

    /// Set pixels in columns `x0..x1` and rows `y0..y1` (clamped to the mask).
    pub(crate) fn count(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> u32 {
        let (x1, y1) = (x1.min(self.width), y1.min(self.height));
        if self.sums.is_empty() || x0 >= x1 || y0 >= y1 {
            return 0;
        }
        let s = self.width + 1;
        let at = |x: usize, y: usize| self.sums[y * s + x];
        at(x1, y1) + at(x0, y0) - at(x0, y1) - at(x1, y0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_a_direct_count() {
        let (w, h) = (7, 5);
        let mask: Vec<u8> = (0..w * h).map(|i| u8::from(i % 3 == 0)).collect();
        let mut sat = Integral::default();
        sat.rebuild(&mask, w, h);
        for (x0, y0, x1, y1) in [
            (0, 0, 7, 5),
            (1, 1, 4, 3),
            (2, 0, 3, 5),
            (5, 4, 9, 9),
            (3, 3, 3, 4),
        ] {
            let direct = (y0..y1.min(h))
                .flat_map(|y| (x0..x1.min(w)).map(move |x| (x, y)))
                .filter(|&(x, y)| mask[y * w + x] != 0)
                .count();
            assert_eq!(
                sat.count(x0, y0, x1, y1) as usize,
                direct,
                "{x0},{y0},{x1},{y1}"
            );
        }
    }
}
