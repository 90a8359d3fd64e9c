//! A directory of still images played as a sequence: every PNG or JPEG file
//! in the directory, sorted by file name, decoded to RGB on demand.

use std::path::{Path, PathBuf};

use super::{Frame, FrameSource};
use crate::error::PerceptionError;

/// Frames from a sorted directory of PNG/JPEG files (no ground truth; pass a
/// MOTChallenge file to score).
#[derive(Debug)]
pub struct ImageDirSource {
    files: Vec<PathBuf>,
    size: (u32, u32),
    fps: f32,
    next: usize,
}

impl ImageDirSource {
    /// List `dir` and read the first frame's size. Every later frame must
    /// have the same size.
    pub fn open(dir: &Path, fps: f32) -> Result<Self, PerceptionError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(PerceptionError::config(
                "image_dir.fps",
                format!("{fps} is outside (0, 1000]"),
            ));
        }
        if !dir.is_dir() {
            return Err(PerceptionError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let io = |source| PerceptionError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if path.is_file() && matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
                files.push(path);
            }
        }
        files.sort();
        let first = files
            .first()
            .ok_or_else(|| PerceptionError::EmptyDirectory {
                path: dir.to_path_buf(),
            })?;
        let size = image::image_dimensions(first).map_err(|source| PerceptionError::Decode {
            path: first.clone(),
            source,
        })?;
        Ok(ImageDirSource {
            files,
            size,
            fps,
            next: 0,
        })
    }

    /// Play only the first `n` frames.
    pub fn truncate(&mut self, n: usize) {
        self.files.truncate(n);
    }

    /// The frame files in playing order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FrameSource for ImageDirSource {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn fps(&self) -> f32 {
        self.fps
    }

    fn frame_count(&self) -> Option<usize> {
        Some(self.files.len())
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, PerceptionError> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(None);
        };
        let image = image::open(path)
            .map_err(|source| PerceptionError::Decode {
                path: path.clone(),
                source,
            })?
            .into_rgb8();
        if image.dimensions() != self.size {
            return Err(PerceptionError::FrameSizeMismatch {
                path: path.clone(),
                expected_w: self.size.0,
                expected_h: self.size.1,
                found_w: image.width(),
                found_h: image.height(),
            });
        }
        let index = self.next as u64;
        self.next += 1;
        Ok(Some(Frame {
            index,
            timestamp_ms: (index as f64 * 1000.0 / f64::from(self.fps)).round() as u64,
            image,
            truth: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    #[test]
    fn plays_png_and_jpeg_files_in_name_order_and_skips_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, name) in ["b.png", "a.jpg", "c.png"].iter().enumerate() {
            RgbImage::from_pixel(8, 6, image::Rgb([i as u8 * 50, 0, 0]))
                .save(dir.path().join(name))
                .expect("save");
        }
        std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
        let mut src = ImageDirSource::open(dir.path(), 10.0).expect("open");
        assert_eq!(src.size(), (8, 6));
        let names: Vec<_> = src
            .files()
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(String::from))
            .collect();
        assert_eq!(names, ["a.jpg", "b.png", "c.png"]);
        let mut stamps = Vec::new();
        while let Some(frame) = src.next_frame().expect("frame") {
            stamps.push(frame.timestamp_ms);
        }
        assert_eq!(stamps, [0, 100, 200]);
    }

    #[test]
    fn empty_directory_missing_directory_bad_frame_and_size_change_are_typed_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            ImageDirSource::open(dir.path(), 10.0),
            Err(PerceptionError::EmptyDirectory { .. })
        ));
        assert!(matches!(
            ImageDirSource::open(&dir.path().join("nope"), 10.0),
            Err(PerceptionError::NotADirectory { .. })
        ));
        RgbImage::new(8, 6)
            .save(dir.path().join("0.png"))
            .expect("save");
        RgbImage::new(9, 6)
            .save(dir.path().join("1.png"))
            .expect("save");
        std::fs::write(dir.path().join("2.png"), b"\x89PNG garbage").expect("write");
        let mut src = ImageDirSource::open(dir.path(), 10.0).expect("open");
        assert!(src.next_frame().expect("first frame decodes").is_some());
        let err = src.next_frame().expect_err("size change");
        assert!(
            matches!(err, PerceptionError::FrameSizeMismatch { found_w: 9, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("1.png"));
        src.next += 1;
        let err = src.next_frame().expect_err("corrupt");
        assert!(
            matches!(err, PerceptionError::Decode { .. }) && err.to_string().contains("2.png"),
            "{err}"
        );
    }
}
