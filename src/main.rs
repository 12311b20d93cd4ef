use std::process::ExitCode;

use clap::Parser;
use mcp_operator::cli::Cli;
use mcp_operator::commands;

// JSON handling makes many small short-lived allocations; mimalloc serves them at a fraction of
// glibc's cost (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
