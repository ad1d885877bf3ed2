//! What the client sent besides the path: the query string (pagination, links), the list
//! grammar over it (filters, search, ordering), and the body (media types, JSON, forms).

pub mod body;
pub mod query;
pub mod scope;
