//! The offscreen target and its readback. `copy_texture_to_buffer` needs
//! rows padded to 256 bytes (widths like 97 or 1366 are not), so each
//! readback buffer is padded and the padding skipped while the rows are
//! copied straight from the mapped range into the caller's frame (one copy).
//!
//! The buffers form a ring of [`RING`]: a frame is rendered and copied into
//! one while the frame before it is mapped and read from another, so the
//! GPU's work on frame N overlaps the CPU's reading of frame N − 1. Each
//! buffer's `map_async` is asked for as soon as its frame is submitted;
//! reading waits only for that frame's submission, which a live loop
//! submitted a period earlier.

use std::collections::VecDeque;
use std::sync::mpsc;

use super::faults::{FaultKind, GpuFault};
use super::pipelines::TARGET_FORMAT;

/// How long a frame may take on the GPU before it counts as hung.
pub(crate) const READBACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Readback buffers: one being written by the GPU, one being read.
pub(crate) const RING: usize = 2;

/// Row pitch of the readback buffer for `width` RGBA8 pixels.
pub(crate) fn padded_row(width: u32) -> u32 {
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    (width * 4).div_ceil(align) * align
}

/// The render target: an RGBA8 texture to draw into and copy from.
pub(crate) fn target_texture(
    device: &wgpu::Device,
    width: u32,
    height: u32,
) -> (wgpu::Texture, wgpu::TextureView) {
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
    (texture, view)
}

/// A mappable buffer for one padded `width × height` frame.
pub(crate) fn readback_buffer(device: &wgpu::Device, width: u32, height: u32) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: u64::from(padded_row(width)) * u64::from(height),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Records the copy of `texture` into `buffer` (padded rows).
pub(crate) fn record_copy(
    encoder: &mut wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    buffer: &wgpu::Buffer,
    width: u32,
    height: u32,
) {
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row(width)),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
}

/// Copies the rows of a mapped padded frame into `out` (tight rows),
/// skipping the padding.
pub(crate) fn copy_rows(mapped: &[u8], width: u32, out: &mut [u8]) {
    let (pitch, row) = (padded_row(width) as usize, width as usize * 4);
    for (dst, src) in out.chunks_exact_mut(row).zip(mapped.chunks(pitch)) {
        dst.copy_from_slice(&src[..row]);
    }
}

type MapResult = Result<(), wgpu::BufferAsyncError>;

/// A frame submitted and not yet read.
struct InFlight {
    slot: usize,
    done: wgpu::SubmissionIndex,
    mapped: mpsc::Receiver<MapResult>,
}

/// The render target and the ring of buffers it is copied into.
pub(crate) struct Target {
    pub width: u32,
    pub height: u32,
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    buffers: Vec<wgpu::Buffer>,
    next: usize,
    in_flight: VecDeque<InFlight>,
}

impl Target {
    pub(crate) fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let (texture, view) = target_texture(device, width, height);
        let buffers = (0..RING)
            .map(|_| readback_buffer(device, width, height))
            .collect();
        Self {
            width,
            height,
            texture,
            view,
            buffers,
            next: 0,
            in_flight: VecDeque::new(),
        }
    }

    /// Frames submitted and not yet read.
    pub(crate) fn pending(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether another frame may be recorded (a buffer of the ring is free).
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight.len() < RING
    }

    /// Records the copy of the target into the next buffer of the ring;
    /// returns the buffer's slot for [`submitted`](Self::submitted).
    pub(crate) fn copy_out(&mut self, encoder: &mut wgpu::CommandEncoder) -> usize {
        let slot = self.next;
        self.next = (self.next + 1) % RING;
        record_copy(
            encoder,
            &self.texture,
            &self.buffers[slot],
            self.width,
            self.height,
        );
        slot
    }

    /// The copy into `slot` went out as submission `done`: ask for its
    /// mapping now (it completes when the GPU is done with the frame).
    pub(crate) fn submitted(&mut self, slot: usize, done: wgpu::SubmissionIndex) {
        let (tx, rx) = mpsc::channel();
        self.buffers[slot].map_async(wgpu::MapMode::Read, .., move |r| {
            // The receiver outlives the poll that runs this; a failed send
            // only means the frame was dropped.
            let _ = tx.send(r);
        });
        self.in_flight.push_back(InFlight {
            slot,
            done,
            mapped: rx,
        });
    }

    /// Waits (at most [`READBACK_TIMEOUT`]) for the oldest frame in flight
    /// and copies its rows into `out` (`width × height × 4` bytes). A GPU
    /// that does not finish in time is a fault, not a hang.
    pub(crate) fn read_oldest(
        &mut self,
        device: &wgpu::Device,
        out: &mut [u8],
    ) -> Result<(), GpuFault> {
        let Some(frame) = self.in_flight.pop_front() else {
            return Err(GpuFault::new(
                FaultKind::Internal,
                "readback of a frame that was never submitted",
            ));
        };
        let buffer = &self.buffers[frame.slot];
        // A pipelined frame was submitted a period ago: the wait returns at
        // once, having run its mapping callback.
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(frame.done),
                timeout: Some(READBACK_TIMEOUT),
            })
            .map_err(|e| {
                GpuFault::new(FaultKind::Internal, format!("waiting for the frame: {e}"))
            })?;
        let mapped = frame
            .mapped
            .try_recv()
            .map_err(|_| GpuFault::new(FaultKind::Internal, "readback map never completed"))?;
        mapped.map_err(|e| GpuFault::new(FaultKind::Internal, format!("readback map: {e}")))?;
        {
            let view = buffer
                .get_mapped_range(..)
                .map_err(|e| GpuFault::new(FaultKind::Internal, format!("readback view: {e}")))?;
            copy_rows(&view, self.width, out);
        }
        buffer.unmap();
        Ok(())
    }

    /// Gives up every frame in flight (their buffers are unmapped once
    /// their mapping completes, or dropped with the target).
    pub(crate) fn discard(&mut self, device: &wgpu::Device) {
        if self.in_flight.is_empty() {
            return;
        }
        let _ = device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(READBACK_TIMEOUT),
        });
        for frame in self.in_flight.drain(..) {
            if let Ok(Ok(())) = frame.mapped.try_recv() {
                self.buffers[frame.slot].unmap();
            }
        }
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
