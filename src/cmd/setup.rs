//! What every kernel subcommand shares: the registry of actor kinds this
//! binary hosts, and loading a config file or the embedded default.

use std::path::Path;

use anyhow::Context as _;
use warden_kernel::{KernelConfig, Registry};

/// The embedded default configuration (`warden run` without `--config`).
pub(crate) const DEFAULT_CONFIG: &str = include_str!("../default.toml");

/// Every actor kind this binary can host: the kernel's probe and the five
/// concerns.
pub(crate) fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry
        .register::<warden_image::actor::ImageDecode>()
        .register::<warden_fft::actor::FftActor>()
        .register::<warden_store::actor::StoreActor>()
        .register::<warden_perception::actor::PerceptionActor>()
        .register::<warden_compositor::Compositor>();
    registry
}

/// Read and validate `path`, or the embedded default when `None`.
pub(crate) fn load_config(
    path: Option<&Path>,
    registry: &Registry,
) -> anyhow::Result<KernelConfig> {
    let (text, origin) = config_text(path)?;
    KernelConfig::from_toml(&text, registry).with_context(|| format!("invalid config in {origin}"))
}

/// The text of `path`, or of the embedded default when `None`, and where it
/// came from in words.
pub(crate) fn config_text(path: Option<&Path>) -> anyhow::Result<(String, String)> {
    Ok(match path {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (
            DEFAULT_CONFIG.to_string(),
            "the embedded default config".to_string(),
        ),
    })
}
