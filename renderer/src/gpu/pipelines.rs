//! The shader modules and their pipelines (one per slideshow entry point),
//! each built on first use inside a validation error scope so a compile
//! failure becomes a `GpuFault` naming its module. One
//! bind group layout serves all three: the uniform block, the two images,
//! the dissolve map and the blockflip starts.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::faults::{FaultKind, GpuFault, ShaderModuleName};
use crate::transition::TransitionKind;

const COMMON: &str = include_str!("shaders/common.wgsl");
const SLIDESHOW: &str = include_str!("shaders/slideshow.wgsl");
const BLIT: &str = include_str!("shaders/blit.wgsl");
const OVERLAY: &str = include_str!("shaders/overlay.wgsl");

/// The target format: unorm, never sRGB, so bytes round-trip exactly.
pub(crate) const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Bytes per overlay instance (`overlay::Quad` packed as 8 × u32).
pub(crate) const QUAD_BYTES: u64 = 32;

/// Layouts, and the modules and pipelines built so far.
pub(crate) struct Pipelines {
    pub bind_layout: wgpu::BindGroupLayout,
    layout: wgpu::PipelineLayout,
    modules: HashMap<ShaderModuleName, wgpu::ShaderModule>,
    pipelines: HashMap<(ShaderModuleName, &'static str), wgpu::RenderPipeline>,
}

/// The fragment entry point of the slideshow module for a transition kind
/// (`None`: no transition, the image alone).
pub(crate) fn slideshow_entry(kind: Option<TransitionKind>) -> &'static str {
    match kind {
        None => "fs_still",
        Some(TransitionKind::Crossfade) => "fs_crossfade",
        Some(TransitionKind::SlideLeft) => "fs_slide_left",
        Some(TransitionKind::SlideRight) => "fs_slide_right",
        Some(TransitionKind::SlideUp) => "fs_slide_up",
        Some(TransitionKind::SlideDown) => "fs_slide_down",
        Some(TransitionKind::WipeLeft) => "fs_wipe_left",
        Some(TransitionKind::WipeRight) => "fs_wipe_right",
        Some(TransitionKind::WipeUp) => "fs_wipe_up",
        Some(TransitionKind::WipeDown) => "fs_wipe_down",
        Some(TransitionKind::Blockflip) => "fs_blockflip",
        Some(TransitionKind::Dissolve) => "fs_dissolve",
        Some(TransitionKind::Zoom) => "fs_zoom",
    }
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
            modules: HashMap::new(),
            pipelines: HashMap::new(),
        }
    }

    /// Compiles `name` (once) and builds its pipeline with fragment entry
    /// point `entry` (once); `broken` hands the compiler a syntax error.
    pub(crate) fn ensure(
        &mut self,
        device: &wgpu::Device,
        name: ShaderModuleName,
        entry: &'static str,
        broken: bool,
    ) -> Result<(), GpuFault> {
        if self.pipelines.contains_key(&(name, entry)) {
            return Ok(());
        }
        let module = match self.modules.entry(name) {
            Entry::Occupied(m) => m.into_mut(),
            Entry::Vacant(v) => v.insert(compile(device, name, broken)?),
        };
        let pipeline = build(device, &self.layout, name, module, entry)?;
        self.pipelines.insert((name, entry), pipeline);
        Ok(())
    }

    /// A pipeline [`ensure`](Self::ensure)d earlier.
    pub(crate) fn get(
        &self,
        name: ShaderModuleName,
        entry: &'static str,
    ) -> Option<&wgpu::RenderPipeline> {
        self.pipelines.get(&(name, entry))
    }
}

fn compile(
    device: &wgpu::Device,
    name: ShaderModuleName,
    broken: bool,
) -> Result<wgpu::ShaderModule, GpuFault> {
    let body = match name {
        ShaderModuleName::Slideshow => SLIDESHOW,
        ShaderModuleName::Blit => BLIT,
        ShaderModuleName::Overlay => OVERLAY,
    };
    let mut source = format!("{COMMON}\n{body}");
    if broken {
        source.push_str("\nfn injected_fault( -> {\n");
    }
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name.name()),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    match pollster::block_on(scope.pop()) {
        None => Ok(module),
        Some(e) => Err(GpuFault::new(FaultKind::ShaderCompile(name), e.to_string())),
    }
}

fn build(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    name: ShaderModuleName,
    module: &wgpu::ShaderModule,
    entry: &'static str,
) -> Result<wgpu::RenderPipeline, GpuFault> {
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
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers,
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(entry),
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
