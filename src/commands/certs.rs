//! `mcp-operator certs`: a CA and a serving certificate for given names, as files.

use std::time::SystemTime;

use super::UsageError;
use crate::certs::dev;
use crate::cli::CertsArgs;

pub fn run(args: &CertsArgs) -> anyhow::Result<i32> {
    if args.hosts.is_empty() {
        return Err(UsageError("give at least one --host".into()).into());
    }
    let (_, _, action) = dev::ensure(&args.dir, &args.hosts, SystemTime::now())?;
    let paths = dev::DevCertPaths::in_dir(&args.dir);
    let what = match action {
        dev::DevCertAction::Reused => "kept the existing",
        dev::DevCertAction::CreatedCa => "created a new CA and",
        dev::DevCertAction::RenewedServing => "issued a new",
    };
    println!("{what} serving certificate for {}", args.hosts.join(", "));
    for path in [&paths.ca_cert, &paths.cert, &paths.key] {
        println!("  {}", path.display());
    }
    Ok(0)
}
