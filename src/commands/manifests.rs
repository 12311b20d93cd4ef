//! `mcp-operator manifests`: the whole in-cluster installation as YAML, or as the `manifests/`
//! kustomization.

use std::fs;
use std::path::Path;

use anyhow::Context;

use crate::api::crd::to_yaml_stream;
use crate::cli::ManifestsArgs;
use crate::deploy::{self, Install};

pub fn run(args: &ManifestsArgs) -> anyhow::Result<i32> {
    let install =
        Install { namespace: args.namespace.clone(), image: args.image.clone().unwrap_or_else(deploy::default_image) };
    match &args.write {
        None => print!("{}", to_yaml_stream(&deploy::objects(&install))?),
        Some(dir) => write_kustomization(&install, dir)?,
    }
    Ok(0)
}

/// The kustomization file listing `files` in apply order.
pub fn kustomization(files: &[deploy::ManifestFile]) -> String {
    let mut out = String::from("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    for file in files {
        out.push_str(&format!("- {}\n", file.name));
    }
    out
}

fn write_kustomization(install: &Install, dir: &Path) -> anyhow::Result<()> {
    let files = deploy::files(install);
    for file in &files {
        let path = dir.join(&file.name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, to_yaml_stream(&file.objects)?).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let path = dir.join("kustomization.yaml");
    fs::write(&path, kustomization(&files)).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {} files and kustomization.yaml to {}", files.len(), dir.display());
    Ok(())
}
