//! The offscreen target and its readback: `copy_texture_to_buffer` needs
//! rows padded to 256 bytes (widths like 97 or 1366 are not), so the buffer
//! is padded and the padding stripped while copying into the frame.

use std::sync::mpsc;

use super::faults::{FaultKind, GpuFault};
use super::pipelines::TARGET_FORMAT;

/// How long a frame may take on the GPU before it counts as hung.
pub(crate) const READBACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Row pitch of the readback buffer for `width` RGBA8 pixels.
pub(crate) fn padded_row(width: u32) -> u32 {
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    (width * 4).div_ceil(align) * align
}

/// The render target and the buffer it is copied into.
pub(crate) struct Target {
    pub width: u32,
    pub height: u32,
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub buffer: wgpu::Buffer,
}

impl Target {
    pub(crate) fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("target"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded_row(width)) * u64::from(height),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            width,
            height,
            texture,
            view,
            buffer,
        }
    }

    /// Records the copy of the target into the readback buffer.
    pub(crate) fn copy_out(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &self.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row(self.width)),
                    rows_per_image: Some(self.height),
                },
            },
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Waits (at most [`READBACK_TIMEOUT`]) for submission `done` and strips
    /// the padding into `out` (`width × height × 4` bytes). A GPU that does
    /// not finish in time is a fault, not a hang.
    pub(crate) fn read(
        &self,
        device: &wgpu::Device,
        done: wgpu::SubmissionIndex,
        out: &mut [u8],
    ) -> Result<(), GpuFault> {
        let (tx, rx) = mpsc::channel();
        self.buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            // The receiver outlives this poll; a failed send only means it is gone.
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done),
                timeout: Some(READBACK_TIMEOUT),
            })
            .map_err(|e| {
                GpuFault::new(FaultKind::Internal, format!("waiting for the frame: {e}"))
            })?;
        match rx.try_recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(GpuFault::new(
                    FaultKind::Internal,
                    format!("readback map: {e}"),
                ));
            }
            Err(_) => {
                return Err(GpuFault::new(
                    FaultKind::Internal,
                    "readback map never completed",
                ));
            }
        }
        let pitch = padded_row(self.width) as usize;
        let row = self.width as usize * 4;
        {
            let view = self
                .buffer
                .get_mapped_range(..)
                .map_err(|e| GpuFault::new(FaultKind::Internal, format!("readback view: {e}")))?;
            for (dst, src) in out.chunks_exact_mut(row).zip(view.chunks(pitch)) {
                dst.copy_from_slice(&src[..row]);
            }
        }
        self.buffer.unmap();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pad_to_256_bytes() {
        assert_eq!(padded_row(64), 256);
        assert_eq!(padded_row(97), 512);
        assert_eq!(padded_row(1366), 5632);
        assert_eq!(padded_row(1920), 7680);
        assert_eq!(padded_row(1), 256);
    }
}
