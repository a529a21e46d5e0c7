//! The Kubernetes vocabulary the adapter speaks, depending on nothing else
//! in the crate: name and label rules, label selectors, label sets on the
//! wire, quantities, `Status` objects and the request attributes
//! authorization is asked about.

pub mod labels;
pub mod names;
pub mod quantity;
pub mod request_info;
pub mod selector;
pub mod status;
