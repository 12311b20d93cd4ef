//! Admission of MCPServerEntry, MCPGroup and MCPRegistry against the admission spec: a table of
//! accepted and rejected cases per rule id, each posted as a full AdmissionReview through
//! `review::handle`, so that every case also exercises the protocol layer.

mod entry;
mod group;
mod mutation;
mod protocol;
mod ratchet;
mod registry;
mod secrets;
mod shared;
mod support;
