//! What the client sent besides the path: the query string (pagination, links) and the list
//! grammar over it (filters, search, ordering).

pub mod query;
pub mod scope;
