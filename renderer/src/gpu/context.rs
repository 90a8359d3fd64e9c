//! The wgpu device: finding the best adapter (hardware before software,
//! Vulkan before GL), opening it headless, and turning wgpu's callbacks —
//! device lost, uncaptured errors — into state the compositor can poll
//! instead of the default panic.

use std::sync::{Arc, Mutex};

use crate::error::RenderError;

/// What the renderer knows about an adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The driver's device name ("llvmpipe (LLVM 15.0.6, 256 bits)", ...).
    pub name: String,
    /// "Vulkan" or "Gl".
    pub api: String,
    /// "DiscreteGpu", "IntegratedGpu", "Cpu", ...
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Whether this is a software rasteriser (lavapipe, llvmpipe, swiftshader).
    pub software: bool,
}

impl AdapterSummary {
    pub(crate) fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            api: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_owned(),
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.api, self.device_type)
    }
}

/// Finds the best adapter: by device type (discrete, integrated, virtual,
/// other, software), then Vulkan before GL. `Err` says why there is none.
pub(crate) fn best_adapter() -> Result<wgpu::Adapter, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::GL,
        flags: wgpu::InstanceFlags::empty(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = pollster::block_on(
        instance.enumerate_adapters(wgpu::Backends::VULKAN | wgpu::Backends::GL),
    );
    let rank = |a: &wgpu::Adapter| {
        let info = a.get_info();
        let ty = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let api = if info.backend == wgpu::Backend::Vulkan {
            0
        } else {
            1
        };
        (ty, api)
    };
    adapters.into_iter().min_by_key(rank).ok_or_else(|| {
        "no Vulkan or GL adapter found (install mesa-vulkan-drivers for lavapipe)".to_owned()
    })
}

/// An open device, with the failures its callbacks reported.
pub(crate) struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub summary: AdapterSummary,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Vec<String>>>,
}

impl GpuContext {
    /// Opens a device on `adapter` with the downlevel limits at the
    /// adapter's full texture resolution.
    pub(crate) fn open(adapter: &wgpu::Adapter) -> Result<Self, RenderError> {
        let summary = AdapterSummary::of(&adapter.get_info());
        let desc = wgpu::DeviceDescriptor {
            label: Some("warden-renderer"),
            required_features: wgpu::Features::empty(),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            RenderError::DeviceOpen {
                adapter: summary.to_string(),
                detail: e.to_string(),
            }
        })?;
        let lost = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = sink.lock() {
                *l = Some(format!("{reason:?}: {message}"));
            }
        });
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut u) = sink.lock() {
                u.push(e.to_string());
            }
        }));
        Ok(Self {
            device,
            queue,
            summary,
            lost,
            uncaptured,
        })
    }

    /// Why the device was lost, once it has been.
    pub(crate) fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// Errors no scope caught since the last call.
    pub(crate) fn take_uncaptured(&self) -> Vec<String> {
        self.uncaptured
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }
}
