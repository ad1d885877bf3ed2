//! Reading a request: which route it is for, its query parameters and its body.

pub mod body;
pub mod form;
pub mod json_error;
pub mod query;
pub mod router;
pub mod scope;
