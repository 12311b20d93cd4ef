//! Reading manifests for the offline commands: files or stdin, multi-document YAML or JSON.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::UsageError;

/// One document of an input.
pub struct Document {
    /// File name as given (`-` for stdin).
    pub source: String,
    /// 1-based position within the source.
    pub index: usize,
    pub object: Value,
}

impl Document {
    /// `file#index`, how findings name the document.
    pub fn location(&self) -> String {
        format!("{}#{}", self.source, self.index)
    }

    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        let meta = &self.object["metadata"];
        meta["name"].as_str().or_else(|| meta["generateName"].as_str()).unwrap_or_default()
    }
}

/// Every non-empty document of `inputs` (`-` reads stdin); YAML `List`s are not unpacked.
pub fn read_all(inputs: &[String]) -> Result<Vec<Document>, UsageError> {
    let mut out = Vec::new();
    for input in inputs {
        let text = if input == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| UsageError(format!("cannot read stdin: {e}")))?;
            text
        } else {
            std::fs::read_to_string(Path::new(input)).map_err(|e| UsageError(format!("cannot read {input}: {e}")))?
        };
        for (i, doc) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let object = Value::deserialize(doc)
                .map_err(|e| UsageError(format!("{input}#{}: not valid YAML or JSON: {e}", i + 1)))?;
            if !object.is_null() {
                out.push(Document { source: input.clone(), index: i + 1, object });
            }
        }
    }
    Ok(out)
}
