//! Reaching the database once, before anything else uses it: at start-up, for `migrate`
//! and for `check`. A failure here is said in words a person can act on (which database,
//! at which address or file, and what to do), within seconds, instead of a pool timing out
//! half a minute later with a driver's message.

use std::error::Error as _;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rustls::CertificateError;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use tokio_postgres::error::SqlState;

use super::tls::PgTls;
use crate::sql::Dialect;

/// How long reaching the database may take before it counts as not answering.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database named by the URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens at the address.
    Refused {
        /// `host:port`.
        at: String,
    },
    /// The server did not answer in time.
    TimedOut {
        /// `host:port`.
        at: String,
    },
    /// The server is there; the database is not.
    NoDatabase {
        /// The database's name.
        name: String,
    },
    /// The server refused the user.
    Auth {
        /// The user's name.
        user: String,
        /// The server's own words.
        detail: String,
    },
    /// The SQLite file is missing (only where it must exist already).
    NoFile {
        /// The file's path.
        path: PathBuf,
    },
    /// The URL itself cannot be read.
    BadUrl(String),
    /// `sslmode` asks for TLS and the server offers none.
    NoTls {
        /// `host:port`.
        at: String,
        /// The URL's `sslmode`.
        mode: &'static str,
    },
    /// `verify-full`: the server's certificate is for other names than the host.
    WrongHost {
        /// The host connected to.
        host: String,
        /// The names the certificate is for.
        names: Vec<String>,
    },
    /// The server's certificate does not chain to a trusted root.
    Untrusted {
        /// `host:port`.
        at: String,
        /// The `sslrootcert` file, or none for the system's roots.
        roots: Option<PathBuf>,
    },
    /// The TLS handshake failed for another reason (an expired certificate, say).
    Tls {
        /// `host:port`.
        at: String,
        /// rustls's words.
        detail: String,
    },
    /// Anything else, in the driver's words, with where it was tried.
    Other {
        /// The address or file.
        at: String,
        /// The driver's words.
        detail: String,
    },
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Refused { at } => write!(
                f,
                "connection refused at {at}: is PostgreSQL running there? Start it, or set \
                 DATABASE_URL to where it runs"
            ),
            Unreachable::TimedOut { at } => write!(
                f,
                "PostgreSQL at {at} did not answer within {} s: check the address and the \
                 network",
                REACH_TIMEOUT.as_secs()
            ),
            Unreachable::NoDatabase { name } => write!(
                f,
                "database {name} does not exist: create it with `createdb {name}`, or start \
                 `specgate serve`, which creates it"
            ),
            Unreachable::Auth { user, detail } => write!(
                f,
                "PostgreSQL refused user {user} ({detail}): check the user and password in \
                 DATABASE_URL"
            ),
            Unreachable::NoFile { path } => write!(
                f,
                "database file {} does not exist: run `specgate migrate`, or start `specgate \
                 serve`, which creates and migrates it",
                path.display()
            ),
            Unreachable::BadUrl(detail) => write!(f, "DATABASE_URL cannot be read: {detail}"),
            Unreachable::NoTls { at, mode } => write!(
                f,
                "the server at {at} does not offer TLS, but sslmode={mode}: turn ssl on in \
                 its postgresql.conf, or set sslmode=prefer or disable in DATABASE_URL"
            ),
            Unreachable::WrongHost { host, names } => write!(
                f,
                "certificate for {} does not match host {host} (sslmode=verify-full): connect \
                 to a name the certificate is for, or use sslmode=verify-ca",
                names.join(", ")
            ),
            Unreachable::Untrusted { at, roots } => match roots {
                Some(file) => write!(
                    f,
                    "the certificate of the server at {at} is not signed by a root certificate \
                     in sslrootcert {}",
                    file.display()
                ),
                None => write!(
                    f,
                    "the certificate of the server at {at} is not signed by a root certificate \
                     the system trusts: name its root in sslrootcert"
                ),
            },
            Unreachable::Tls { at, detail } => {
                write!(
                    f,
                    "the TLS handshake with the server at {at} failed: {detail}"
                )
            }
            Unreachable::Other { at, detail } => {
                write!(f, "cannot open the database at {at}: {detail}")
            }
        }
    }
}

/// Opens one connection to the database `url` names and closes it again. An SQLite file is
/// created when missing unless `must_exist`.
pub async fn reach(url: &str, dialect: Dialect, must_exist: bool) -> Result<(), Unreachable> {
    match dialect {
        Dialect::Postgres => reach_postgres(url).await,
        Dialect::Sqlite => reach_sqlite(url, must_exist).await,
    }
}

async fn reach_postgres(url: &str) -> Result<(), Unreachable> {
    let (tls, driver_url) = PgTls::from_url(url).map_err(Unreachable::BadUrl)?;
    let mut config = tokio_postgres::Config::from_str(&driver_url)
        .map_err(|e| Unreachable::BadUrl(e.to_string()))?;
    config.connect_timeout(REACH_TIMEOUT);
    let at = address(&config);
    let connected = tokio::time::timeout(REACH_TIMEOUT, config.connect(tls.clone()))
        .await
        .map_err(|_| Unreachable::TimedOut { at: at.clone() })?;
    match connected {
        Ok((client, connection)) => {
            drop(client);
            // Dropping the client ends the connection; let it say goodbye.
            let _ = connection.await;
            Ok(())
        }
        Err(e) => {
            Err(tls_failure(&tls, &at, &e).unwrap_or_else(|| postgres_failure(&config, at, &e)))
        }
    }
}

/// The failure in words when it was TLS's: no TLS offered, or the handshake refused.
fn tls_failure(tls: &PgTls, at: &str, e: &tokio_postgres::Error) -> Option<Unreachable> {
    let source = e.source()?;
    // tokio-postgres's own words when the server answers the TLS request with no.
    if source.to_string() == "server does not support TLS" {
        let mode = tls.mode.name();
        return Some(Unreachable::NoTls {
            at: at.to_owned(),
            mode,
        });
    }
    let refused = source
        .downcast_ref::<std::io::Error>()?
        .get_ref()?
        .downcast_ref::<rustls::Error>()?;
    let at = at.to_owned();
    Some(match refused {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => Unreachable::WrongHost {
            host: expected.to_str().into_owned(),
            names: presented.iter().map(|n| unquoted(n)).collect(),
        },
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            let roots = tls.root_file.clone();
            Unreachable::Untrusted { at, roots }
        }
        other => Unreachable::Tls {
            at,
            detail: other.to_string(),
        },
    })
}

/// A name as rustls presents it (`DnsName("localhost")`), as the certificate says it.
fn unquoted(presented: &str) -> String {
    let inner = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"').to_owned()
}

/// `host:port` of the first host the configuration names.
fn address(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

fn postgres_failure(
    config: &tokio_postgres::Config,
    at: String,
    e: &tokio_postgres::Error,
) -> Unreachable {
    let user = config.get_user().unwrap_or("postgres").to_owned();
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_CATALOG_NAME {
            let name = config.get_dbname().unwrap_or(&user).to_owned();
            return Unreachable::NoDatabase { name };
        }
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            let detail = db.message().to_owned();
            return Unreachable::Auth { user, detail };
        }
        let detail = db.message().to_owned();
        return Unreachable::Other { at, detail };
    }
    match e.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
        Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Unreachable::Refused { at }
        }
        Some(io) if io.kind() == std::io::ErrorKind::TimedOut => Unreachable::TimedOut { at },
        Some(io) => Unreachable::Other {
            at,
            detail: io.to_string(),
        },
        None => Unreachable::Other {
            at,
            detail: e.to_string(),
        },
    }
}

async fn reach_sqlite(url: &str, must_exist: bool) -> Result<(), Unreachable> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| Unreachable::BadUrl(e.to_string()))?;
    let path = options.get_filename().to_path_buf();
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if must_exist && !in_memory && !path.exists() {
        return Err(Unreachable::NoFile { path });
    }
    let at = path.display().to_string();
    let options = options.create_if_missing(!must_exist);
    let connected = tokio::time::timeout(REACH_TIMEOUT, options.connect())
        .await
        .map_err(|_| Unreachable::Other {
            at: at.clone(),
            detail: format!("no answer within {} s", REACH_TIMEOUT.as_secs()),
        })?;
    match connected {
        Ok(conn) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        Err(e) => Err(Unreachable::Other {
            at,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_refused_with_its_address() {
        // Port 1 on loopback: nothing listens there.
        let got = reach("postgres://postgres@127.0.0.1:1/x", Dialect::Postgres, true).await;
        assert_eq!(
            got,
            Err(Unreachable::Refused {
                at: "127.0.0.1:1".into()
            })
        );
        let text = got.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("connection refused at 127.0.0.1:1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_missing_sqlite_file_is_named() {
        let path = std::env::temp_dir().join(format!("specgate-reach-{}.db", std::process::id()));
        let url = format!("sqlite://{}", path.display());
        let got = reach(&url, Dialect::Sqlite, true).await;
        assert_eq!(got, Err(Unreachable::NoFile { path: path.clone() }));
        assert!(!path.exists(), "looking did not create it");
    }

    #[test]
    fn a_missing_database_says_how_to_make_it() {
        let text = Unreachable::NoDatabase {
            name: "specgate".into(),
        }
        .to_string();
        assert_eq!(
            text,
            "database specgate does not exist: create it with `createdb specgate`, or start \
             `specgate serve`, which creates it"
        );
    }
}
