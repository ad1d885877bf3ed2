-- Indexes for the list's lookups on a large table. The gateway compares case-insensitively
-- as upper(col::text) = / LIKE upper($1), so the expression indexes below match it exactly.
--   iexact, istartswith           → btree on upper(col) (text_pattern_ops serves = and LIKE 'x%')
--   icontains, iendswith, search  → trigram GIN on upper(col)
--   exact, startswith, gt/lt, in  → btree on col (text_pattern_ops for LIKE 'x%'; plain for ranges)
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX users_user_username_upper_idx ON users_user (upper(username::text) text_pattern_ops) INCLUDE (id);
CREATE INDEX users_user_email_upper_idx ON users_user (upper(email::text) text_pattern_ops) INCLUDE (id);
CREATE INDEX users_user_phone_number_upper_idx ON users_user (upper(phone_number::text) text_pattern_ops) INCLUDE (id);

CREATE INDEX users_user_username_like_idx ON users_user (username text_pattern_ops);
CREATE INDEX users_user_email_like_idx ON users_user (email text_pattern_ops);
CREATE INDEX users_user_phone_number_like_idx ON users_user (phone_number text_pattern_ops);
CREATE INDEX users_user_phone_number_idx ON users_user (phone_number);

CREATE INDEX users_user_username_trgm_idx ON users_user USING gin (upper(username::text) gin_trgm_ops);
CREATE INDEX users_user_email_trgm_idx ON users_user USING gin (upper(email::text) gin_trgm_ops);
CREATE INDEX users_user_phone_number_trgm_idx ON users_user USING gin (upper(phone_number::text) gin_trgm_ops);
