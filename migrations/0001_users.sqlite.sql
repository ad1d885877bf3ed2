-- The Users API's tables on SQLite: the same columns, types and constraints as
-- 0001_users.postgres.sql, in SQLite's terms.
--   * keys: INTEGER PRIMARY KEY AUTOINCREMENT never reuses a key, like an identity column;
--   * varchar(n): SQLite does not enforce the length, so a CHECK does;
--   * timestamps: UTC text with six fraction digits ('2025-11-06 08:00:00.364302'), so text
--     order is time order; SQLite's clock gives milliseconds, hence the '000'.
CREATE TABLE users_role (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name varchar(150) NOT NULL UNIQUE CHECK (length(name) <= 150)
);

CREATE TABLE users_user (
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
    date_joined  text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now')),
    phone_number varchar(20) NULL CHECK (length(phone_number) <= 20),
    CONSTRAINT users_user_username_key UNIQUE (username),
    CONSTRAINT users_user_email_key UNIQUE (email)
);

CREATE TABLE users_user_roles (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id bigint NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    role_id bigint NOT NULL REFERENCES users_role (id) ON DELETE CASCADE,
    CONSTRAINT users_user_roles_user_id_role_id_key UNIQUE (user_id, role_id)
);
CREATE INDEX users_user_roles_role_id_idx ON users_user_roles (role_id);
