//! The three render pipelines, built on first use inside a validation error
//! scope so a compile failure becomes a `GpuFault` naming its module. One
//! bind group layout serves all three: the uniform block, the two images,
//! the dissolve map and the blockflip starts.

use super::faults::{FaultKind, GpuFault, ShaderModuleName};

const COMMON: &str = include_str!("shaders/common.wgsl");
const SLIDESHOW: &str = include_str!("shaders/slideshow.wgsl");
const BLIT: &str = include_str!("shaders/blit.wgsl");
const OVERLAY: &str = include_str!("shaders/overlay.wgsl");

/// The target format: unorm, never sRGB, so bytes round-trip exactly.
pub(crate) const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Bytes per overlay instance (`overlay::Quad` packed as 8 × u32).
pub(crate) const QUAD_BYTES: u64 = 32;

/// Layouts and the pipelines built so far.
pub(crate) struct Pipelines {
    pub bind_layout: wgpu::BindGroupLayout,
    layout: wgpu::PipelineLayout,
    pub slideshow: Option<wgpu::RenderPipeline>,
    pub blit: Option<wgpu::RenderPipeline>,
    pub overlay: Option<wgpu::RenderPipeline>,
}

fn texture_entry(binding: u32, sample_type: wgpu::TextureSampleType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

impl Pipelines {
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        let unfiltered = wgpu::TextureSampleType::Float { filterable: false };
        let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("scene"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1, unfiltered),
                texture_entry(2, unfiltered),
                texture_entry(3, wgpu::TextureSampleType::Uint),
                texture_entry(4, wgpu::TextureSampleType::Uint),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("scene"),
            bind_group_layouts: &[Some(&bind_layout)],
            immediate_size: 0,
        });
        Self {
            bind_layout,
            layout,
            slideshow: None,
            blit: None,
            overlay: None,
        }
    }

    /// Builds `name`'s pipeline if it does not exist yet; `broken` hands the
    /// compiler a syntax error instead of the real source.
    pub(crate) fn ensure(
        &mut self,
        device: &wgpu::Device,
        name: ShaderModuleName,
        broken: bool,
    ) -> Result<(), GpuFault> {
        let slot = match name {
            ShaderModuleName::Slideshow => &self.slideshow,
            ShaderModuleName::Blit => &self.blit,
            ShaderModuleName::Overlay => &self.overlay,
        };
        if slot.is_some() {
            return Ok(());
        }
        let pipeline = build(device, &self.layout, name, broken)?;
        match name {
            ShaderModuleName::Slideshow => self.slideshow = Some(pipeline),
            ShaderModuleName::Blit => self.blit = Some(pipeline),
            ShaderModuleName::Overlay => self.overlay = Some(pipeline),
        }
        Ok(())
    }
}

fn build(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    name: ShaderModuleName,
    broken: bool,
) -> Result<wgpu::RenderPipeline, GpuFault> {
    let body = match name {
        ShaderModuleName::Slideshow => SLIDESHOW,
        ShaderModuleName::Blit => BLIT,
        ShaderModuleName::Overlay => OVERLAY,
    };
    let mut source = format!("{COMMON}\n{body}");
    if broken {
        source.push_str("\nfn injected_fault( -> {\n");
    }
    let replace = wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::Constant,
        dst_factor: wgpu::BlendFactor::OneMinusConstant,
        operation: wgpu::BlendOperation::Add,
    };
    let (blend, buffers): (wgpu::BlendState, &[Option<wgpu::VertexBufferLayout<'_>>]) = match name {
        ShaderModuleName::Overlay => (
            wgpu::BlendState {
                color: wgpu::BlendComponent {
                    src_factor: wgpu::BlendFactor::SrcAlpha,
                    dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
                    operation: wgpu::BlendOperation::Add,
                },
                alpha: wgpu::BlendComponent {
                    src_factor: wgpu::BlendFactor::One,
                    dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
                    operation: wgpu::BlendOperation::Add,
                },
            },
            &[Some(wgpu::VertexBufferLayout {
                array_stride: QUAD_BYTES,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: &wgpu::vertex_attr_array![
                    0 => Uint32x4, 1 => Uint32, 2 => Uint32, 3 => Uint32x2
                ],
            })],
        ),
        // The slideshow's opacity is the blend constant: a lerp on all four
        // channels, a plain copy at 1.
        ShaderModuleName::Slideshow | ShaderModuleName::Blit => (
            wgpu::BlendState {
                color: replace,
                alpha: replace,
            },
            &[],
        ),
    };
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name.name()),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(name.name()),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: &module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers,
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: &module,
            entry_point: Some("fs"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: TARGET_FORMAT,
                blend: Some(blend),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        None => Ok(pipeline),
        Some(e) => Err(GpuFault::new(FaultKind::ShaderCompile(name), e.to_string())),
    }
}
