//! Command-line interface: one subcommand per job of the binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "mcp-operator",
    version,
    about = "Admission, conversion and reconcile for the ToolHive MCP custom resources (toolhive.stacklok.dev)",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the four CustomResourceDefinitions (what manifests/crds/ holds).
    #[command(
        after_help = "Examples:\n  mcp-operator crds | kubectl apply --server-side -f -\n  mcp-operator crds --write manifests/crds"
    )]
    Crds(CrdsArgs),
}

#[derive(clap::Args, Debug)]
pub struct CrdsArgs {
    /// Write one file per CRD (`<plural>.yaml`) into this directory instead of printing a stream.
    #[arg(long, value_name = "DIR", env = "MCP_OPERATOR_CRDS_WRITE")]
    pub write: Option<PathBuf>,
}
