-- no-transaction
-- users_user.date_joined defaults to specgate_now(), the clock with microseconds the gateway
-- registers on its connections (SQLite's own strftime('%f') gives milliseconds, so rows
-- created in the same millisecond tied on date_joined). SQLite cannot change a column's
-- default in place: the table is rebuilt as SQLite's ALTER TABLE documentation says, with
-- foreign keys off so that dropping the old table does not cascade to users_user_roles.
-- Its AUTOINCREMENT sequence is carried over, so no key is ever reused.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_user_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    password     varchar(128) NOT NULL DEFAULT '' CHECK (length(password) <= 128),
    last_login   text NULL,
    is_superuser boolean NOT NULL DEFAULT false,
    username     varchar(150) NOT NULL CHECK (length(username) <= 150),
    first_name   varchar(150) NOT NULL DEFAULT '' CHECK (length(first_name) <= 150),
    last_name    varchar(150) NOT NULL DEFAULT '' CHECK (length(last_name) <= 150),
    email        varchar(254) NOT NULL CHECK (length(email) <= 254),
    is_staff     boolean NOT NULL DEFAULT false,
    is_active    boolean NOT NULL DEFAULT true,
    date_joined  text NOT NULL DEFAULT (specgate_now()),
    phone_number varchar(20) NULL CHECK (length(phone_number) <= 20),
    CONSTRAINT users_user_username_key UNIQUE (username),
    CONSTRAINT users_user_email_key UNIQUE (email)
);
INSERT INTO users_user_new (id, password, last_login, is_superuser, username, first_name,
                            last_name, email, is_staff, is_active, date_joined, phone_number)
SELECT id, password, last_login, is_superuser, username, first_name, last_name, email,
       is_staff, is_active, date_joined, phone_number
FROM users_user;
DELETE FROM sqlite_sequence WHERE name = 'users_user_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'users_user_new', seq FROM sqlite_sequence WHERE name = 'users_user';
DROP TABLE users_user;
ALTER TABLE users_user_new RENAME TO users_user;
CREATE INDEX users_user_phone_number_idx ON users_user (phone_number);
COMMIT;
PRAGMA foreign_keys = ON;
