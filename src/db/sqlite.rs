//! What SQLite needs beyond sqlx's driver to answer like PostgreSQL: its connection
//! settings, a Unicode `upper()` (SQLite's own folds ASCII only), a clock with microseconds
//! (SQLite's own gives milliseconds), timestamps read back from the fixed-width UTC text
//! `sql` stores them as, and the meaning of its error codes.

use std::ffi::c_int;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use libsqlite3_sys as ffi;
use sqlx::sqlite::{
    LockedSqliteHandle, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::config::Limits;
use crate::plan::utc_timestamp;
use crate::sql::SQLITE_TIMESTAMP_FORMAT;

/// The name SQL calls the Unicode upper-casing function by (see [`upper`]).
const UPPER: &std::ffi::CStr = c"specgate_upper";

/// The name SQL calls the clock by (see [`now`]): column defaults use `(specgate_now())`.
const NOW: &std::ffi::CStr = c"specgate_now";

/// The pool for a `sqlite:` URL. The file is created when missing if `create`; WAL lets readers go on
/// while a write is in progress; a write waits up to the statement timeout for the lock.
pub fn pool(
    url: &str,
    max_connections: u32,
    limits: &Limits,
    create: bool,
) -> Result<sqlx::SqlitePool, String> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("bad DATABASE_URL: {e}"))?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(limits.statement_timeout);
    // An in-memory database lives as long as one connection to it: keep one open for good.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(limits.pool_timeout)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                let mut handle = conn.lock_handle().await?;
                register_functions(&mut handle).map_err(|e| sqlx::Error::Configuration(e.into()))
            })
        });
    if in_memory {
        pool = pool
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    Ok(pool.connect_lazy_with(options))
}

/// Registers the functions the gateway's SQL and the SQLite migrations' column defaults
/// call, `specgate_upper(text)` and `specgate_now()`, on one connection. Any other client
/// that writes rows relying on those defaults must register them too (for a Rust one, with
/// this).
pub fn register_functions(handle: &mut LockedSqliteHandle<'_>) -> Result<(), String> {
    let db = handle.as_raw_handle().as_ptr();
    register(db, UPPER, 1, true, upper_callback)?;
    register(db, NOW, 0, false, now_callback)
}

/// Upper-cases like PostgreSQL's `upper()` in a UTF-8 database: each character maps to its
/// single-character upper case, and a character whose upper case is several characters
/// (`ß`) stays as it is.
pub fn upper(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// A scalar SQL function of this gateway, for SQLite.
type Callback =
    unsafe extern "C" fn(*mut ffi::sqlite3_context, c_int, *mut *mut ffi::sqlite3_value);

/// Registers `callback` as the SQL function `name` taking `args` arguments on one
/// connection (`deterministic` when the same arguments always give the same answer).
fn register(
    db: *mut ffi::sqlite3,
    name: &std::ffi::CStr,
    args: c_int,
    deterministic: bool,
    callback: Callback,
) -> Result<(), String> {
    let flags = if deterministic {
        ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC
    } else {
        ffi::SQLITE_UTF8
    };
    // SAFETY: `db` is a live connection handle held locked by the caller; the name is a
    // NUL-terminated string that SQLite copies; the callback has the signature SQLite
    // expects.
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            args,
            flags,
            std::ptr::null_mut(),
            Some(callback),
            None,
            None,
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!(
            "cannot register {}: SQLite code {rc}",
            name.to_string_lossy()
        ))
    }
}

/// The current time as a timestamp column stores it: UTC text with six fraction digits
/// (`2025-11-06 08:00:00.364302`), so that rows created in the same millisecond still order
/// by it, as they do on PostgreSQL.
pub fn now() -> String {
    Utc::now().format(SQLITE_TIMESTAMP_FORMAT).to_string()
}

/// `specgate_now()`: [`now`] as text.
unsafe extern "C" fn now_callback(
    ctx: *mut ffi::sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) {
    let text = now();
    // SAFETY: `ctx` is the live context SQLite passed; the text is copied by SQLite
    // (SQLITE_TRANSIENT) before `text` is dropped.
    unsafe {
        ffi::sqlite3_result_text(
            ctx,
            text.as_ptr().cast(),
            text.len() as c_int,
            ffi::SQLITE_TRANSIENT(),
        );
    }
}

/// `specgate_upper(x)`: NULL for NULL, otherwise [`upper`] of the value as text.
unsafe extern "C" fn upper_callback(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values in `argv`; the text pointer it returns is
    // valid for `sqlite3_value_bytes` bytes until the value changes, and the result is
    // copied by SQLite (SQLITE_TRANSIENT) before `folded` is dropped.
    unsafe {
        if argc != 1 {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let value = *argv;
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let text = ffi::sqlite3_value_text(value);
        let len = ffi::sqlite3_value_bytes(value);
        let bytes = if text.is_null() || len <= 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(text, len as usize)
        };
        let folded = upper(&String::from_utf8_lossy(bytes));
        ffi::sqlite3_result_text(
            ctx,
            folded.as_ptr().cast(),
            folded.len() as c_int,
            ffi::SQLITE_TRANSIENT(),
        );
    }
}

/// A timestamp as stored (see `sql::store_timestamp`) read back, also accepting the shorter
/// forms SQLite's own date functions write, such as a column default of `strftime(...)`.
pub fn read_timestamp(text: &str) -> Option<DateTime<Utc>> {
    Some(utc_timestamp(text)?.and_utc())
}

/// Whether an SQLite error code (extended, as sqlx reports it) is a value the table
/// refuses: NOT NULL (1299), CHECK (275), a foreign key (787), a datatype mismatch (20) or
/// a too-big value (18).
pub fn is_data_error(code: &str) -> bool {
    matches!(code, "1299" | "275" | "787" | "20" | "18")
}

/// Whether an SQLite error code means the database is busy or cannot be reached for now:
/// busy (5 and its extended forms), locked (6), I/O (10), cannot open (14).
pub fn is_unavailable(code: &str) -> bool {
    let primary = code.parse::<i32>().map(|c| c & 0xff).unwrap_or(0);
    matches!(primary, 5 | 6 | 10 | 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_folds_unicode_like_postgresql() {
        assert_eq!(upper("straße émile"), "STRAßE ÉMILE");
        assert_eq!(upper("ǆ"), "Ǆ");
        assert_eq!(upper("abc123_%"), "ABC123_%");
    }

    /// What `sql`'s ASCII ranges for SQLite's case-insensitive lookups rest on: every
    /// character upper-cases to one character, and the only ones outside ASCII that
    /// upper-case to ASCII are the dotless ı (to `I`) and the long ſ (to `S`).
    #[test]
    fn only_i_and_s_have_non_ascii_lower_cases() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let folded = upper(c.encode_utf8(&mut [0; 4]));
            assert_eq!(folded.chars().count(), 1, "{c:?}");
            if !c.is_ascii() && folded.is_ascii() {
                assert!(
                    matches!((c, folded.as_str()), ('ı', "I") | ('ſ', "S")),
                    "{c:?} → {folded:?}"
                );
            }
        }
    }

    #[test]
    fn stored_timestamps_read_back_in_utc() {
        let read = read_timestamp("2025-11-06 08:00:00.364302");
        assert_eq!(
            read.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-11-06T08:00:00.364302+00:00")
        );
        assert!(read_timestamp("2025-11-06 08:00:00.364").is_some());
    }

    #[test]
    fn the_clock_has_microseconds() {
        let text = now();
        assert_eq!(text.len(), "2025-11-06 08:00:00.364302".len());
        assert!(read_timestamp(&text).is_some());
    }

    #[test]
    fn error_codes_are_classified() {
        assert!(is_data_error("1299"));
        assert!(is_unavailable("5"));
        assert!(is_unavailable("517"));
        assert!(!is_unavailable("2067"));
    }
}
