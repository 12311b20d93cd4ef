//! `mcp-operator convert`: like `kubectl convert`, for the toolhive kinds, offline.

use super::UsageError;
use super::documents::read_all;
use crate::api::crd::{GROUP, to_yaml_stream};
use crate::cli::{ConvertArgs, OutputFormat};
use crate::conversion;

pub fn run(args: &ConvertArgs) -> anyhow::Result<i32> {
    let desired = format!("{GROUP}/{}", args.to.as_str());
    let mut out = Vec::new();
    for doc in read_all(&args.files)? {
        let api_version = doc.object["apiVersion"].as_str().unwrap_or_default();
        if api_version.split('/').next() != Some(GROUP) {
            eprintln!(
                "{}: {} {:?} is not a toolhive.stacklok.dev kind; passed through unchanged",
                doc.location(),
                doc.kind(),
                doc.name()
            );
            out.push(doc.object);
            continue;
        }
        let converted = conversion::convert(&doc.object, &desired)
            .map_err(|e| UsageError(format!("{}: {} {:?}: {e}", doc.location(), doc.kind(), doc.name())))?;
        out.push(converted);
    }
    match args.output {
        OutputFormat::Text => print!("{}", to_yaml_stream(&out)?),
        OutputFormat::Json => {
            let value = if out.len() == 1 {
                out.remove(0)
            } else {
                serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": out })
            };
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
    }
    Ok(0)
}
