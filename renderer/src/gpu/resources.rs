//! GPU-side copies of the scene's inputs: image textures keyed by the
//! `Arc<Frame>` they came from (the cache holds the `Arc`, so an address
//! cannot be reused under it), the transition tables as integer textures,
//! and 1×1 stand-ins for whatever a frame does not use.

use std::sync::Arc;

use super::pipelines::QUAD_BYTES;
use crate::frame::Frame;
use crate::overlay::Quad;
use crate::tables::TransitionTables;

/// A texture and its default view.
pub(crate) struct Tex {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
}

/// Creates a 2D texture and uploads `data` (tightly packed rows).
pub(crate) fn upload(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    format: wgpu::TextureFormat,
    (width, height): (u32, u32),
    bytes_per_pixel: u32,
    data: &[u8],
) -> Tex {
    let size = wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    };
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    write(queue, &texture, bytes_per_pixel, data);
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    Tex { texture, view }
}

/// Writes `data` (tightly packed rows) over the whole of `texture`. Queue
/// order keeps frames already submitted reading what was there before.
fn write(queue: &wgpu::Queue, texture: &wgpu::Texture, bytes_per_pixel: u32, data: &[u8]) {
    let size = texture.size();
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(size.width * bytes_per_pixel),
            rows_per_image: Some(size.height),
        },
        size,
    );
}

/// Image textures, most recently used last.
#[derive(Default)]
pub(crate) struct ImageCache {
    entries: Vec<(Arc<Frame>, Tex)>,
    /// Textures written over instead of created.
    pub(crate) reused: u64,
}

impl ImageCache {
    /// Two transition ends and the next image.
    const KEEP: usize = 3;

    /// Makes sure `frame` is resident; returns its index for [`view`](Self::view).
    pub(crate) fn ensure(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        frame: &Arc<Frame>,
    ) {
        if let Some(i) = self.entries.iter().position(|(f, _)| Arc::ptr_eq(f, frame)) {
            let e = self.entries.remove(i);
            self.entries.push(e);
            return;
        }
        if self.entries.len() == Self::KEEP {
            let (_, old) = self.entries.remove(0);
            if (old.texture.width(), old.texture.height()) == (frame.width(), frame.height()) {
                // The slideshow's images share the canvas size: the texture
                // of the image that left is the new one's, written over —
                // no texture is created or destroyed per image.
                write(queue, &old.texture, 4, frame.data());
                self.entries.push((Arc::clone(frame), old));
                self.reused += 1;
                return;
            }
            old.texture.destroy();
        }
        let tex = upload(
            device,
            queue,
            "image",
            wgpu::TextureFormat::Rgba8Unorm,
            (frame.width(), frame.height()),
            4,
            frame.data(),
        );
        self.entries.push((Arc::clone(frame), tex));
    }

    /// The view of a frame made resident this frame.
    pub(crate) fn view(&self, frame: &Arc<Frame>) -> Option<&wgpu::TextureView> {
        self.entries
            .iter()
            .find(|(f, _)| Arc::ptr_eq(f, frame))
            .map(|(_, t)| &t.view)
    }
}

/// The table textures of the current transition.
#[derive(Default)]
pub(crate) struct TableTextures {
    current: Option<(Arc<TransitionTables>, Tex)>,
}

impl TableTextures {
    /// Uploads `tables` unless they are already resident; returns the view
    /// (R16Uint dissolve map or R32Uint block starts).
    pub(crate) fn ensure(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        tables: &Arc<TransitionTables>,
        (width, height): (u32, u32),
    ) -> &wgpu::TextureView {
        let fresh = !matches!(&self.current, Some((t, _)) if Arc::ptr_eq(t, tables));
        if fresh {
            if let Some((_, old)) = self.current.take() {
                old.texture.destroy();
            }
            let tex = if let Some(g) = tables.blockflip() {
                upload(
                    device,
                    queue,
                    "blockflip starts",
                    wgpu::TextureFormat::R32Uint,
                    (g.cols, g.rows),
                    4,
                    bytemuck::cast_slice(&g.starts),
                )
            } else {
                let t = tables.dissolve().unwrap_or(&[]);
                upload(
                    device,
                    queue,
                    "dissolve thresholds",
                    wgpu::TextureFormat::R16Uint,
                    (width, height),
                    2,
                    bytemuck::cast_slice(t),
                )
            };
            self.current = Some((Arc::clone(tables), tex));
        }
        let (_, tex) = self
            .current
            .as_ref()
            .expect("invariant: set just above when missing");
        &tex.view
    }
}

/// 1×1 stand-ins bound where a frame has no image or table.
pub(crate) struct Dummies {
    pub image: Tex,
    pub dissolve: Tex,
    pub starts: Tex,
}

impl Dummies {
    pub(crate) fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        Self {
            image: upload(
                device,
                queue,
                "no image",
                wgpu::TextureFormat::Rgba8Unorm,
                (1, 1),
                4,
                &[0; 4],
            ),
            dissolve: upload(
                device,
                queue,
                "no dissolve",
                wgpu::TextureFormat::R16Uint,
                (1, 1),
                2,
                &[0; 2],
            ),
            starts: upload(
                device,
                queue,
                "no starts",
                wgpu::TextureFormat::R32Uint,
                (1, 1),
                4,
                &[0; 4],
            ),
        }
    }
}

/// The overlay quads as a vertex buffer of instances (8 × u32 each), grown
/// in powers of two and reused.
#[derive(Default)]
pub(crate) struct QuadBuffer {
    buffer: Option<wgpu::Buffer>,
    packed: Vec<u32>,
}

impl QuadBuffer {
    /// Uploads `quads` (nothing when empty).
    pub(crate) fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, quads: &[Quad]) {
        if quads.is_empty() {
            return;
        }
        self.packed.clear();
        for q in quads {
            self.packed.extend_from_slice(&[
                q.x0,
                q.y0,
                q.x1,
                q.y1,
                u32::from_le_bytes(q.bottom),
                u32::from_le_bytes(q.top),
                q.g0,
                q.g1,
            ]);
        }
        let need = quads.len() as u64 * QUAD_BYTES;
        if self.buffer.as_ref().is_none_or(|b| b.size() < need) {
            if let Some(old) = self.buffer.take() {
                old.destroy();
            }
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("quads"),
                size: need.next_power_of_two().max(4096),
                usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        if let Some(buf) = &self.buffer {
            queue.write_buffer(buf, 0, bytemuck::cast_slice(&self.packed));
        }
    }

    /// The buffer, once something was uploaded.
    pub(crate) fn buffer(&self) -> Option<&wgpu::Buffer> {
        self.buffer.as_ref()
    }
}
