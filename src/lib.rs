//! mcp-operator: validates, defaults and converts the ToolHive MCP custom resources through
//! Kubernetes admission and conversion webhooks, and reconciles them.

pub mod api;
pub mod cli;
pub mod commands;
pub mod conversion;
