//! `Frame`: an RGBA8 image of any size, rows tightly packed (no padding),
//! the unit every input and output of the renderer is made of.

use crate::error::RenderError;

/// One RGBA colour, 8 bits per channel, straight (not premultiplied) alpha.
pub type Rgba = [u8; 4];

/// The largest side the renderer accepts (wgpu's guaranteed 2D texture limit).
pub const MAX_SIDE: u32 = 8192;

/// An RGBA8 image: `width × height` pixels, row-major, 4 bytes per pixel,
/// rows tightly packed (`stride == width × 4`).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Checks a size against `1..=MAX_SIDE` on both sides.
pub(crate) fn check_size(what: &'static str, width: u32, height: u32) -> Result<(), RenderError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(RenderError::SizeOutOfRange {
            what,
            width,
            height,
            max: MAX_SIDE,
        });
    }
    Ok(())
}

/// Parses a size written `WIDTHxHEIGHT` (`1920x1080`, also `1920×1080`:
/// the one parser every command shares, `warden_image::parse_size`), each
/// side in `1..=MAX_SIDE`.
pub fn parse_size(text: &str) -> Result<(u32, u32), RenderError> {
    let (w, h) = warden_image::parse_size(text).map_err(|_| RenderError::InvalidValue {
        field: "size".to_owned(),
        value: text.to_owned(),
        expected: "WIDTHxHEIGHT, e.g. 1920x1080",
    })?;
    check_size("size", w, h)?;
    Ok((w, h))
}

impl Frame {
    /// Wraps RGBA8 bytes; the length must be `width × height × 4`.
    pub fn from_rgba(width: u32, height: u32, data: Vec<u8>) -> Result<Self, RenderError> {
        check_size("frame", width, height)?;
        let expected = width as usize * height as usize * 4;
        if data.len() != expected {
            return Err(RenderError::FrameLength {
                width,
                height,
                expected,
                actual: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// A frame of one colour.
    pub fn filled(width: u32, height: u32, colour: Rgba) -> Result<Self, RenderError> {
        check_size("frame", width, height)?;
        let data = colour.repeat(width as usize * height as usize);
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// An empty 1×1 frame, for output buffers that `render_into` will size.
    pub fn empty() -> Self {
        Self {
            width: 1,
            height: 1,
            data: vec![0; 4],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGBA8 bytes, row-major, `width × 4` bytes per row.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The RGBA8 bytes, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Gives the bytes back.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Bytes per row (`width × 4`).
    pub fn stride(&self) -> usize {
        self.width as usize * 4
    }

    /// One pixel; `None` outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgba> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.data.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// Resizes the frame in place to `width × height`, keeping the allocation
    /// when it is large enough; contents are unspecified afterwards.
    pub(crate) fn reshape(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.data.resize(width as usize * height as usize * 4, 0);
    }

    /// The largest absolute difference of any channel between two frames of
    /// the same size; `None` when the sizes differ.
    pub fn max_channel_diff(&self, other: &Frame) -> Option<u8> {
        if self.width != other.width || self.height != other.height {
            return None;
        }
        Some(
            self.data
                .iter()
                .zip(&other.data)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rgba_checks_length_and_size() {
        assert!(matches!(
            Frame::from_rgba(3, 2, vec![0; 23]),
            Err(RenderError::FrameLength {
                expected: 24,
                actual: 23,
                ..
            })
        ));
        assert!(matches!(
            Frame::from_rgba(0, 2, vec![]),
            Err(RenderError::SizeOutOfRange { .. })
        ));
        let f = Frame::from_rgba(3, 2, (0..24).collect()).expect("valid");
        assert_eq!(f.pixel(2, 1), Some([20, 21, 22, 23]));
        assert_eq!(f.pixel(3, 1), None);
        assert_eq!(f.stride(), 12);
    }

    #[test]
    fn sizes_parse_and_bad_ones_are_named() {
        assert_eq!(parse_size("1920x1080").expect("ok"), (1920, 1080));
        assert_eq!(parse_size("97X5").expect("ok"), (97, 5));
        assert_eq!(
            parse_size("1920×1080").expect("the one parser takes ×"),
            (1920, 1080)
        );
        for bad in ["1920", "x5", "0x5", "9000x10", "axb", ""] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(
            parse_size("10x")
                .expect_err("bad")
                .to_string()
                .contains("WIDTHxHEIGHT")
        );
    }

    #[test]
    fn max_channel_diff_finds_the_largest() {
        let a = Frame::filled(4, 4, [10, 20, 30, 255]).expect("valid");
        let mut b = a.clone();
        b.data_mut()[17] = 27;
        assert_eq!(a.max_channel_diff(&b), Some(7));
        let c = Frame::filled(4, 3, [0; 4]).expect("valid");
        assert_eq!(a.max_channel_diff(&c), None);
    }
}
