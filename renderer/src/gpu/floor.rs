//! The readback floor: what moving a frame off the device costs at the
//! least, measured with nothing of the compositor in the way — a target
//! cleared, `copy_texture_to_buffer`, `map_async` and a wait, the rows
//! copied out, one buffer, synchronously. `warden bench render` reports the
//! wgpu path beside it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::context::{AdapterSummary, GpuContext, best_adapter};
use super::faults::{FaultKind, GpuFault};
use super::readback::{READBACK_TIMEOUT, copy_rows, readback_buffer, record_copy, target_texture};
use crate::error::RenderError;

/// Times `frames` bare readbacks of a `width × height` RGBA8 target on the
/// adapter the compositor would pick; returns the adapter and each time.
pub fn readback_floor(
    width: u32,
    height: u32,
    frames: usize,
) -> Result<(AdapterSummary, Vec<Duration>), RenderError> {
    let adapter = best_adapter().map_err(RenderError::NoAdapter)?;
    let ctx = GpuContext::open(&adapter)?;
    let (device, queue) = (&ctx.device, &ctx.queue);
    let (texture, view) = target_texture(device, width, height);
    let buffer = readback_buffer(device, width, height);
    let row = width as usize * 4;
    let mut out = vec![0u8; row * height as usize];
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let started = Instant::now();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("floor"),
        });
        {
            let shade = f64::from((i % 256) as u32) / 255.0;
            let _pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("floor clear"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: shade,
                            g: 0.5,
                            b: 1.0 - shade,
                            a: 1.0,
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
        }
        record_copy(&mut encoder, &texture, &buffer, width, height);
        let done = queue.submit([encoder.finish()]);
        let (tx, rx) = mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done),
                timeout: Some(READBACK_TIMEOUT),
            })
            .map_err(|e| internal(format!("the floor's readback: {e}")))?;
        match rx.try_recv() {
            Ok(Ok(())) => {}
            other => {
                return Err(internal(format!(
                    "the floor's readback did not map: {other:?}"
                )));
            }
        }
        {
            let mapped = buffer
                .get_mapped_range(..)
                .map_err(|e| internal(format!("the floor's readback view: {e}")))?;
            copy_rows(&mapped, width, &mut out);
        }
        buffer.unmap();
        times.push(started.elapsed());
    }
    std::hint::black_box(&out);
    Ok((ctx.summary.clone(), times))
}

fn internal(detail: String) -> RenderError {
    RenderError::Gpu(GpuFault::new(FaultKind::Internal, detail))
}
