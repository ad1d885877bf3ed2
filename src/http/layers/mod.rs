//! The cross-cutting concerns, one tower layer per file, stacked in [`super::stack`].

pub mod access_log;
pub mod head;
pub mod method_case;
pub mod metrics;
pub mod query_limits;
pub mod request_id;
pub mod timeout;
pub mod trace;
