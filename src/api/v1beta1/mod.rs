//! `toolhive.stacklok.dev/v1beta1`, the storage version.

pub mod common;
pub mod mcpgroup;
pub mod mcpregistry;
pub mod mcpserverentry;
pub mod virtualmcpserver;

pub use common::*;
pub use mcpgroup::*;
pub use mcpregistry::*;
pub use mcpserverentry::*;
pub use virtualmcpserver::{VirtualMCPServer, VirtualMCPServerSpec, VirtualMCPServerStatus};
