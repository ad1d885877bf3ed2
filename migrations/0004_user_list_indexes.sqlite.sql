-- Case-insensitive lookups (iexact, istartswith) served from an index that every SQLite
-- client can keep: the built-in upper(), which folds ASCII letters only. The gateway still
-- compares with specgate_upper() (Unicode, like PostgreSQL); it bounds the leading ASCII run
-- of the value on this index first, ranges that hold every match (see README, "Lists
-- served from indexes"). An index on specgate_upper() itself would make the table
-- unwritable for any client that has not registered that function.
CREATE INDEX users_user_username_upper_idx ON users_user (upper(username));
CREATE INDEX users_user_email_upper_idx ON users_user (upper(email));
CREATE INDEX users_user_phone_number_upper_idx ON users_user (upper(phone_number));
-- The list's ordering by date_joined walks this instead of sorting the table.
CREATE INDEX users_user_date_joined_idx ON users_user (date_joined, id);
