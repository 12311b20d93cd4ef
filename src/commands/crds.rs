//! `mcp-operator crds`: print or write the generated CustomResourceDefinitions.

use std::fs;

use anyhow::Context;

use crate::api::crd;
use crate::cli::CrdsArgs;

pub fn run(args: &CrdsArgs) -> anyhow::Result<i32> {
    let Some(dir) = &args.write else {
        print!("{}", crd::to_yaml_stream(&crd::all())?);
        return Ok(0);
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for kind in crd::KINDS {
        let path = dir.join(format!("{}.yaml", kind.plural));
        let text = crd::to_yaml_stream(&[crd::crd(kind)])?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(0)
}
