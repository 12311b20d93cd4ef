//! `toolhive.stacklok.dev/v1alpha1`, deprecated: still served, converted to `v1beta1` for storage.
//!
//! MCPGroup and MCPRegistry are identical to `v1beta1`; MCPServerEntry and VirtualMCPServer are
//! supersets that also accept every historical shape.

pub mod mcpgroup;
pub mod mcpregistry;
pub mod mcpserverentry;
pub mod virtualmcpserver;

pub use mcpgroup::*;
pub use mcpregistry::*;
pub use mcpserverentry::*;
pub use virtualmcpserver::{VirtualMCPServer, VirtualMCPServerSpec};
