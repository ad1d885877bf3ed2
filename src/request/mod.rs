//! Reading a request: which route it is for, its query parameters and its body.

pub mod query;
pub mod router;
pub mod scope;
