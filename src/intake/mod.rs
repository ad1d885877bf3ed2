//! Reading what a request carries, before validation.

pub mod body;
