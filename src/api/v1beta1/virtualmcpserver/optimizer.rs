//! `spec.config.optimizer`: tool discovery by search instead of a full tool list.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::DURATION_PATTERN;

/// A non-negative decimal number written as a string.
const DECIMAL_PATTERN: &str = r"^([0-9]*[.])?[0-9]+$";

/// The optimizer offers clients only `find_tool` and `call_tool`, backed by keyword and semantic
/// search over the backends' tools.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.embeddingHeaders) || (has(self.embeddingProvider) && self.embeddingProvider == 'openai')",
        "message": "embeddingHeaders is only supported when embeddingProvider is 'openai'"
    },
    {
        "rule": r"!has(self.embeddingHeaders) || self.embeddingHeaders.all(k, k.matches('^[!#$%&\\x27*+.^_\\x60|~0-9A-Za-z-]+$') && !(k.lowerAscii() in ['authorization', 'content-type']))",
        "message": "embeddingHeaders names must be valid HTTP header names and must not include Authorization or Content-Type"
    }
]))]
pub struct Optimizer {
    /// Extra headers sent with every embedding request (`openai` only). Stored in plain text, so
    /// no secrets; `Authorization` and `Content-Type` cannot be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "embedding_headers")]
    pub embedding_headers: Option<BTreeMap<String, String>>,
    /// Model requested from an `openai` embedding service; required there, ignored for `tei`.
    /// The API key is read from the `OPENAI_API_KEY` environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
    /// API of the embedding service: `tei` (Text Embeddings Inference, the default) or `openai`
    /// (any OpenAI-compatible `/embeddings` API; not with `spec.embeddingServerRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "tei", "enum" = ["tei", "openai"])
    )]
    pub embedding_provider: Option<String>,
    /// Base URL of the embedding service. With the operator, `spec.embeddingServerRef` fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_service: Option<String>,
    /// Timeout of requests to the embedding service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "30s"))]
    pub embedding_service_timeout: Option<String>,
    /// Share of semantic versus keyword results, from `0.0` (keyword only) to `1.0` (semantic
    /// only); `0.5` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DECIMAL_PATTERN))]
    pub hybrid_search_semantic_ratio: Option<String>,
    /// Most tools a search returns; 8 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", range(min = 1, max = 50))]
    pub max_tools_to_return: Option<i64>,
    /// Largest semantic distance kept (0 identical, 2 unrelated); `1.0` when unset. Keyword
    /// results are not filtered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DECIMAL_PATTERN))]
    pub semantic_distance_threshold: Option<String>,
}

/// Header names mapped to 1 to 8192 characters without control characters (tab allowed).
fn embedding_headers(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": 32,
        "additionalProperties": {
            "type": "string",
            "minLength": 1,
            "maxLength": 8192,
            "pattern": r"^[^\x00-\x08\x0A-\x1F\x7F]*$",
        },
    })
}
