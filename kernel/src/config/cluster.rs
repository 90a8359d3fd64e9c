//! `[cluster]`: how the kernel reaches its nodes over NATS.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, at_least};

/// How the kernel reaches its nodes (`[cluster]`; see docs/CLUSTER.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The NATS server (`nats://host:4222`; several, comma-separated).
    pub nats_url: String,
    /// The first token of every subject, so that several clusters can share
    /// one NATS server (`subject_prefix`, default `warden`).
    pub prefix: String,
    /// A node silent for this long is lost: its actors start elsewhere.
    pub node_timeout: Duration,
    /// A NATS credentials file (`creds`), passed to the client.
    pub creds: Option<std::path::PathBuf>,
    /// A user/password or token (`user`, `password`, `token`).
    pub user: Option<String>,
    /// See `user`.
    pub password: Option<String>,
    /// See `user`.
    pub token: Option<String>,
    /// Require TLS (`tls_required`); with `tls_ca` a root certificate to trust.
    pub tls_required: bool,
    /// See `tls_required`.
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats_url: "nats://127.0.0.1:4222".into(),
            prefix: "warden".into(),
            node_timeout: Duration::from_millis(1500),
            creds: None,
            user: None,
            password: None,
            token: None,
            tls_required: false,
            tls_ca: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    nats_url: Option<String>,
    subject_prefix: Option<String>,
    node_timeout_ms: Option<u64>,
    creds: Option<std::path::PathBuf>,
    user: Option<String>,
    password: Option<String>,
    token: Option<String>,
    #[serde(default)]
    tls_required: bool,
    tls_ca: Option<std::path::PathBuf>,
}

impl RawCluster {
    pub(super) fn validated(self) -> Result<ClusterConfig, ConfigError> {
        let defaults = ClusterConfig::default();
        let nats_url = self.nats_url.unwrap_or(defaults.nats_url);
        for url in nats_url.split(',') {
            let url = url.trim();
            let scheme_ok = ["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|scheme| url.starts_with(scheme));
            if !scheme_ok || url.len() < 8 {
                return Err(ConfigError::new(
                    "cluster.nats_url",
                    format!("{url:?} is not a NATS URL (nats://host:port, tls://…)"),
                ));
            }
        }
        let prefix = self.subject_prefix.unwrap_or(defaults.prefix);
        if !crate::cluster::is_token(&prefix) {
            return Err(ConfigError::new(
                "cluster.subject_prefix",
                format!("{prefix:?} is not one subject token (a-z, 0-9, '_', '-')"),
            ));
        }
        let node_timeout_ms = self
            .node_timeout_ms
            .unwrap_or(defaults.node_timeout.as_millis() as u64);
        at_least("cluster.node_timeout_ms", node_timeout_ms, 300)?;
        if self.password.is_some() != self.user.is_some() {
            return Err(ConfigError::new(
                "cluster.password",
                "user and password go together",
            ));
        }
        Ok(ClusterConfig {
            nats_url,
            prefix,
            node_timeout: Duration::from_millis(node_timeout_ms),
            creds: self.creds,
            user: self.user,
            password: self.password,
            token: self.token,
            tls_required: self.tls_required,
            tls_ca: self.tls_ca,
        })
    }
}
