//! Choosing the backend: `auto` takes wgpu on a hardware adapter and the CPU
//! path when there is no adapter or only a software one (lavapipe and
//! llvmpipe are 15–30× slower than the CPU path); `cpu` and `wgpu` force a
//! path. The choice and its reason are logged and returned.

use crate::compositor::Backend;
use crate::error::RenderError;
use crate::gpu::AdapterSummary;

/// What the caller asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BackendRequest {
    /// wgpu on hardware, else the CPU path.
    #[default]
    Auto,
    /// The CPU path, without probing for adapters.
    Cpu,
    /// wgpu on whatever adapter exists (software included); an error if none.
    Wgpu,
}

impl BackendRequest {
    /// Parses `auto`, `cpu` or `wgpu`.
    pub fn from_name(name: &str) -> Result<Self, RenderError> {
        match name {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            _ => Err(RenderError::UnknownName {
                what: "backend",
                name: name.to_owned(),
                expected: "auto, cpu, wgpu".to_owned(),
            }),
        }
    }
}

impl std::str::FromStr for BackendRequest {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s)
    }
}

/// Why a backend was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChoiceReason {
    /// The caller forced it.
    Forced,
    /// `auto` found a hardware adapter.
    HardwareAdapter,
    /// `auto` found only a software rasteriser: the CPU path is faster.
    SoftwareAdapter,
    /// `auto` found no adapter at all (wgpu's message).
    NoAdapter(String),
}

/// The outcome of backend selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendChoice {
    /// What was asked for.
    pub requested: BackendRequest,
    /// What will draw.
    pub backend: Backend,
    /// Why.
    pub reason: ChoiceReason,
    /// The best adapter found, if one was probed and found.
    pub adapter: Option<AdapterSummary>,
}

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.backend)?;
        if let (Backend::Wgpu, Some(a)) = (self.backend, &self.adapter) {
            write!(f, " on {a}")?;
        }
        match &self.reason {
            ChoiceReason::Forced => write!(f, " (forced by --backend {})", self.backend),
            ChoiceReason::HardwareAdapter => write!(f, " (auto: hardware adapter)"),
            ChoiceReason::SoftwareAdapter => match &self.adapter {
                Some(a) => write!(
                    f,
                    " (auto: the only adapter, {}, is a software rasteriser; the CPU path is faster)",
                    a.name
                ),
                None => write!(f, " (auto: software adapter)"),
            },
            ChoiceReason::NoAdapter(why) => write!(f, " (auto: no wgpu adapter: {why})"),
        }
    }
}

/// Chooses a backend for `requested`, probing adapters unless `cpu` was
/// forced, and logs the choice. Returns the adapter to open when the
/// choice is wgpu.
pub(crate) fn choose(
    requested: BackendRequest,
) -> Result<(BackendChoice, Option<wgpu::Adapter>), RenderError> {
    let (choice, adapter) = match requested {
        BackendRequest::Cpu => (
            BackendChoice {
                requested,
                backend: Backend::Cpu,
                reason: ChoiceReason::Forced,
                adapter: None,
            },
            None,
        ),
        BackendRequest::Wgpu => {
            let adapter = crate::gpu::best_adapter().map_err(RenderError::NoAdapter)?;
            let summary = AdapterSummary::of(&adapter.get_info());
            (
                BackendChoice {
                    requested,
                    backend: Backend::Wgpu,
                    reason: ChoiceReason::Forced,
                    adapter: Some(summary),
                },
                Some(adapter),
            )
        }
        BackendRequest::Auto => match auto_probe() {
            AutoProbe::Cpu(reason, adapter) => (
                BackendChoice {
                    requested,
                    backend: Backend::Cpu,
                    reason,
                    adapter,
                },
                None,
            ),
            AutoProbe::Hardware(adapter) => (
                BackendChoice {
                    requested,
                    backend: Backend::Wgpu,
                    reason: ChoiceReason::HardwareAdapter,
                    adapter: Some(AdapterSummary::of(&adapter.get_info())),
                },
                Some(adapter),
            ),
        },
    };
    tracing::info!(
        backend = %choice.backend,
        requested = ?choice.requested,
        reason = ?choice.reason,
        adapter = ?choice.adapter.as_ref().map(ToString::to_string),
        "renderer backend chosen: {choice}"
    );
    Ok((choice, adapter))
}

/// What `auto` found.
enum AutoProbe {
    /// Draw on the CPU: no adapter, or only a software rasteriser.
    Cpu(ChoiceReason, Option<AdapterSummary>),
    /// A hardware adapter to open.
    Hardware(wgpu::Adapter),
}

/// An `auto` probe that chose the CPU, kept for the life of the process.
static AUTO_CPU: std::sync::OnceLock<(ChoiceReason, Option<AdapterSummary>)> =
    std::sync::OnceLock::new();

/// Probe the adapters for `auto`. A machine whose probe found no hardware
/// adapter does not grow one while the process runs, so that outcome is
/// probed once per process and reused (loading the Vulkan and GL drivers
/// and creating an instance costs ~10 ms, on every compositor restart
/// otherwise); a hardware adapter is probed again each time, since the
/// adapter is what gets opened.
fn auto_probe() -> AutoProbe {
    if let Some((reason, adapter)) = AUTO_CPU.get() {
        return AutoProbe::Cpu(reason.clone(), adapter.clone());
    }
    let (reason, adapter) = match crate::gpu::best_adapter() {
        Err(why) => (ChoiceReason::NoAdapter(why), None),
        Ok(adapter) => {
            let summary = AdapterSummary::of(&adapter.get_info());
            if !summary.software {
                return AutoProbe::Hardware(adapter);
            }
            (ChoiceReason::SoftwareAdapter, Some(summary))
        }
    };
    let (reason, adapter) = AUTO_CPU.get_or_init(|| (reason, adapter));
    AutoProbe::Cpu(reason.clone(), adapter.clone())
}

/// Probe the adapters now, as `auto` would, so that a later `auto` choice
/// in this process is quick (a standby child of the compositor calls it
/// while it waits to be needed). Logs nothing.
pub fn warm_up() {
    let _ = auto_probe();
}

/// Chooses a backend for `requested` without opening a device: what
/// [`crate::Renderer::open`] would pick, and why (also logged).
pub fn select_backend(requested: BackendRequest) -> Result<BackendChoice, RenderError> {
    choose(requested).map(|(c, _)| c)
}
