//! One module per subcommand. Each owns its clap `Args` and a
//! `run(Args) -> anyhow::Result<ExitCode>`; libraries stay free of `anyhow`.

pub(crate) mod analyze;
pub(crate) mod bench;
pub(crate) mod check_config;
pub(crate) mod decode;
pub(crate) mod drill;
pub(crate) mod logging;
pub(crate) mod node;
pub(crate) mod perceive;
pub(crate) mod render;
pub(crate) mod run;
pub(crate) mod setup;
pub(crate) mod store;
pub(crate) mod worker;
