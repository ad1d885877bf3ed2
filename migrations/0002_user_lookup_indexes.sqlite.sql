-- Lookup indexes on SQLite. username and email already have their unique indexes, which
-- serve exact, in, gt/lt and (through GLOB) startswith. The case-insensitive lookups and
-- search compare specgate_upper(col), a function the gateway registers on its own
-- connections; an index on it would make the table unwritable from any other SQLite client,
-- so those lookups scan (fine at an embedded database's sizes; PostgreSQL has the indexes).
CREATE INDEX users_user_phone_number_idx ON users_user (phone_number);
