//! The Kubernetes vocabulary the adapter speaks, depending on nothing else
//! in the crate: label selectors, quantities, `Status` objects and the
//! request attributes authorization is asked about.

pub mod quantity;
pub mod request_info;
pub mod selector;
pub mod status;
