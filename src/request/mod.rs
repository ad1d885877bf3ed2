//! Reading a request body: media types, JSON and form parsing, Python's error messages.

pub mod body;
pub mod form;
pub mod json_error;
