//! mcp-operator: validates, defaults and converts the ToolHive MCP custom resources through
//! Kubernetes admission and conversion webhooks, and reconciles them.

pub mod admission;
pub mod api;
pub mod certs;
pub mod cli;
pub mod commands;
pub mod controllers;
pub mod conversion;
pub mod deploy;
pub(crate) mod json;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod server;
