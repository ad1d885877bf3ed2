-- The list's count and page served index-only, and from prepared (generic) plans.
--   * The gateway bounds startswith and istartswith by a range of bound parameters
--     (col ~>=~ $1 AND col ~<~ $2, on upper(col) for istartswith) and keeps the LIKE as the
--     re-check. An index-only scan can evaluate that re-check only when the column itself is
--     in the index (PostgreSQL does not read upper(col) back from an expression index), hence
--     INCLUDE (col, id); id is the page's key.
--   * The text_pattern_ops index on the column gets id for the page.
--   * Ordering by date_joined walks (date_joined, id) instead of sorting the table.
DROP INDEX users_user_username_upper_idx;
DROP INDEX users_user_email_upper_idx;
DROP INDEX users_user_phone_number_upper_idx;
CREATE INDEX users_user_username_upper_idx ON users_user (upper(username::text) text_pattern_ops) INCLUDE (username, id);
CREATE INDEX users_user_email_upper_idx ON users_user (upper(email::text) text_pattern_ops) INCLUDE (email, id);
CREATE INDEX users_user_phone_number_upper_idx ON users_user (upper(phone_number::text) text_pattern_ops) INCLUDE (phone_number, id);

DROP INDEX users_user_username_like_idx;
DROP INDEX users_user_email_like_idx;
DROP INDEX users_user_phone_number_like_idx;
CREATE INDEX users_user_username_like_idx ON users_user (username text_pattern_ops) INCLUDE (id);
CREATE INDEX users_user_email_like_idx ON users_user (email text_pattern_ops) INCLUDE (id);
CREATE INDEX users_user_phone_number_like_idx ON users_user (phone_number text_pattern_ops) INCLUDE (id);

CREATE INDEX users_user_date_joined_idx ON users_user (date_joined, id);
