//! The custom resources of `toolhive.stacklok.dev`, one module per served version.

pub mod crd;
pub mod schema;
pub mod v1alpha1;
pub mod v1beta1;
