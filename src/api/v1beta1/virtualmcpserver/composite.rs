//! `spec.config.compositeTools`: tools defined as workflows over the backends' tools.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DURATION_PATTERN;
use super::aggregation::ToolAnnotations;

/// A tool that clients call like any other, implemented as a sequence of steps.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct CompositeTool {
    /// MCP annotations declared for the tool, merged over the conservative values derived from
    /// its steps when the tool list is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// What the workflow does, shown to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unique name of the tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// Shape of the structured result; without it the last step's output is returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<CompositeOutput>,
    /// JSON Schema of the tool's input, normally `{"type": "object", "properties": {...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub parameters: Option<Value>,
    /// The workflow steps; order of execution follows `dependsOn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub steps: Option<Vec<WorkflowStep>>,
    /// Longest time the whole workflow may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
}

/// The structured output of a composite tool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct CompositeOutput {
    /// Output properties by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub properties: Option<BTreeMap<String, OutputProperty>>,
    /// Names of the properties that are always present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

/// One output property: a template producing its value, or nested properties for an object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct OutputProperty {
    /// Value used when the template cannot be expanded, converted to `type`.
    #[serde(rename = "default", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_any")]
    pub default_value: Option<Value>,
    /// Explanation of the property for clients and models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Nested properties of an `object`, each with the same fields as this one; excludes `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub properties: Option<Value>,
    /// JSON Schema type of the property.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        schema_with = "crate::api::schema::string",
        extend("enum" = ["string", "integer", "number", "boolean", "object", "array"])
    )]
    pub type_: Option<String>,
    /// Template for the value, such as `{{.steps.fetch.output.id}}` or `{{.params.name}}`; for an
    /// object it may render JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One step of a workflow: a tool call, a question to the user (elicitation) or a loop.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStep {
    /// Arguments of the tool call; top-level string values are templates over `.params` and
    /// `.steps`, other values are passed as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub arguments: Option<Value>,
    /// For `forEach`: a template that yields the array to iterate over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Template that decides whether the step runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Output used in place of the step's own when it is skipped or fails with `continue`;
    /// needed when later steps read that output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_any")]
    pub default_results: Option<Value>,
    /// IDs of the steps that must finish first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    /// Unique ID of the step within the workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub id: Option<String>,
    /// For `forEach`: the name under which templates see the current item; `item` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_var: Option<String>,
    /// For `forEach`: most items processed (100 when unset, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub max_iterations: Option<i64>,
    /// For `forEach`: most iterations running at once (10 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub max_parallel: Option<i64>,
    /// For `elicitation`: the question shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For `elicitation`: what to do when the user dismisses the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_cancel: Option<ElicitationResponse>,
    /// For `elicitation`: what to do when the user declines to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_decline: Option<ElicitationResponse>,
    /// What to do when the step fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<StepErrorHandling>,
    /// For `elicitation`: JSON Schema of the expected answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub schema: Option<Value>,
    /// For `forEach`: the tool step run for every item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub step: Option<Value>,
    /// Longest time the step may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
    /// For `tool`: the tool to call, as `<backend>.<tool>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `tool` (the default), `elicitation` or `forEach`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "tool", "enum" = ["tool", "elicitation", "forEach"])
    )]
    pub type_: Option<String>,
}

/// The reaction to a declined or dismissed elicitation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ElicitationResponse {
    /// `abort` the workflow (the default), `skip_remaining` steps, or `continue` with the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "abort", "enum" = ["skip_remaining", "abort", "continue"])
    )]
    pub action: Option<String>,
}

/// The reaction to a failed step.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepErrorHandling {
    /// `abort` the workflow (the default), `continue` with the next step, or `retry` the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "abort", "enum" = ["abort", "continue", "retry"])
    )]
    pub action: Option<String>,
    /// For `retry`: how many more attempts are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub retry_count: Option<i64>,
    /// For `retry`: the pause between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub retry_delay: Option<String>,
}
