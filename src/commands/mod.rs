//! The subcommands, as thin adapters over the library.

pub mod certs;
pub mod convert;
pub mod crds;
pub mod documents;
pub mod install;
pub mod manifests;
pub mod serve;
pub mod validate;

use crate::cli::{Cli, Command};

/// A failure the user can fix: reported as one line, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the parsed command line; `Ok(code)` is the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    crate::logging::init(cli.log_format, &cli.log_level);
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Install(args) => install::run(&args),
        Command::Manifests(args) => manifests::run(&args),
        Command::Certs(args) => certs::run(&args),
        Command::Crds(args) => crds::run(&args),
    }
}
