//! Warden's compositor: CPU and wgpu paths, transitions, overlays, demotion ladder.
