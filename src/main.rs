//! The `specgate` binary: `serve` (default), `check`, `migrate` and `openapi`.

use std::process::ExitCode;
use std::sync::Arc;

use specgate::admin::{self, Admin, Metrics, Reload};

use specgate::config::{Command, LogFormat, Settings};
use specgate::contract;
use specgate::db::Db;
use specgate::db::reach::{REACH_TIMEOUT, Unreachable, reach};
use specgate::exec::Gateway;
use specgate::http::tls::{self, Certificates};
use specgate::http::{server, stack};
use specgate::sql::Dialect;
use specgate::store::{self, Contract, ContractStore, ReloadOutcome};
use sqlx::migrate::MigrateDatabase;

fn main() -> ExitCode {
    let settings = match Settings::parse_from(std::env::args_os()) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("specgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("specgate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what clap made of a command line it did not run: help on stdout (exit 0), or a
/// bad argument with the usage on stderr (exit 2).
fn usage(e: &clap::Error) -> ExitCode {
    // Nothing better to do when stdout or stderr is gone; the exit code still tells.
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// Sends the log to stderr, filtered by `--log`, as text lines or one JSON object per line.
fn init_logging(settings: &Settings) {
    // `--log` was checked when it was read; the fallback only keeps this total.
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Text => logger
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logger.json().with_ansi(false).init(),
    }
}

async fn run(settings: Settings) -> Result<(), String> {
    match settings.command {
        Command::Check => check(&settings).await,
        Command::Migrate => {
            let spec = load(&settings)?;
            let db = open(&settings).await?;
            let migrated = db.migrate(&spec.migrations).await;
            // Closing checkpoints SQLite's write-ahead log into the file and removes it.
            db.close().await;
            migrated
        }
        Command::Serve => serve(settings).await,
        Command::OpenApi => {
            let spec = load(&settings)?;
            let document = specgate::openapi::document(&spec);
            let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
            print(&format!("{text}\n"))
        }
    }
}

/// Writes `text` on stdout. A reader that has gone (`specgate openapi | head`) is not an
/// error: it has read all it wanted.
fn print(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let written = std::io::Write::write_all(&mut out, text.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut out));
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

fn load(settings: &Settings) -> Result<contract::Spec, String> {
    contract::load(&settings.spec).map_err(|problems| problems_text(settings, &problems))
}

/// Every problem of the spec, one per line with its file and line.
fn problems_text(settings: &Settings, problems: &[contract::Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("  {}", spec_path(settings, p)))
        .collect();
    format!(
        "the spec in {} has problems:\n{}",
        settings.spec.display(),
        lines.join("\n")
    )
}

/// Loads the contract (spec plus its OpenAPI document and hash) for serving.
fn load_contract(settings: &Settings) -> Result<Contract, String> {
    Contract::load(&settings.spec).map_err(|problems| problems_text(settings, &problems))
}

fn spec_path(settings: &Settings, problem: &contract::Problem) -> String {
    let mut p = problem.clone();
    p.file = settings.spec.join(&p.file).display().to_string();
    p.to_string()
}

/// Whether to serve with no database at all: none was named, and the contract answers
/// nothing from one (every route proxied). A later contract that needs one is refused.
fn without_database(settings: &Settings, spec: &contract::Spec) -> bool {
    settings.database_url.is_none() && !spec.needs_database()
}

/// Connects, creating the database first if it does not exist (an SQLite file is created
/// by its first connection). A database that cannot be reached stops start-up here, within
/// seconds, saying why.
async fn open(settings: &Settings) -> Result<Db, String> {
    let url = settings.database_url();
    let dialect = specgate::db::dialect_of(&url)?;
    match reach(&url, dialect, false).await {
        Err(Unreachable::NoDatabase { .. }) if dialect == Dialect::Postgres => {
            sqlx::Postgres::create_database(&url)
                .await
                .map_err(|e| format!("cannot create the database: {e}"))?;
            reach(&url, dialect, false)
                .await
                .map_err(|e| e.to_string())?;
        }
        reached => reached.map_err(|e| e.to_string())?,
    }
    Db::connect(&url, settings.max_connections, &settings.limits)
}

/// `specgate check`: the spec files, then the database's tables and columns. A database
/// that cannot be reached is a failure, said in a sentence, unless `--spec-only` asked for
/// the files alone.
async fn check(settings: &Settings) -> Result<(), String> {
    let spec = load(settings)?;
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        specgate::db::migrations(&spec.migrations, dialect)?;
    }
    if let Some(files) = &settings.tls {
        Certificates::load(files)?;
    }
    if settings.spec_only {
        return print("spec OK (the database was not checked: --spec-only)\n");
    }
    if without_database(settings, &spec) {
        return print("spec OK; every route is proxied, so no database is needed\n");
    }
    let url = settings.database_url();
    reach(&url, specgate::db::dialect_of(&url)?, true)
        .await
        .map_err(|e| format!("the spec is OK, but the database could not be checked: {e}"))?;
    let db = Db::connect_existing(&url, &settings.limits)?;
    let checked = tokio::time::timeout(REACH_TIMEOUT, db.missing_columns(&spec)).await;
    let scans = match &checked {
        Ok(Ok(missing)) if missing.is_empty() => unserved(&db, &spec).await,
        _ => Ok(Vec::new()),
    };
    db.close().await;
    match checked {
        Ok(Ok(missing)) if missing.is_empty() => {
            print("spec OK; every table and column exists in the database\n")?;
            report_scans(settings, scans?)
        }
        Ok(Ok(missing)) => Err(format!(
            "the database does not match the spec:\n  {}",
            missing.join("\n  ")
        )),
        Ok(Err(e)) => Err(format!(
            "the spec is OK, but the database could not be checked: {e}"
        )),
        Err(_) => Err(format!(
            "the spec is OK, but the database did not answer within {} s",
            REACH_TIMEOUT.as_secs()
        )),
    }
}

/// The declared filters, searches and orderings the database would answer by reading or
/// sorting a whole table (`specgate::indexes`).
async fn unserved(db: &Db, spec: &contract::Spec) -> Result<Vec<String>, String> {
    match tokio::time::timeout(REACH_TIMEOUT, specgate::indexes::unserved(db, spec)).await {
        Ok(Ok(unserved)) => Ok(unserved),
        Ok(Err(e)) => Err(format!("the indexes could not be checked: {e}")),
        Err(_) => Err(format!(
            "the indexes could not be checked: no answer within {} s",
            REACH_TIMEOUT.as_secs()
        )),
    }
}

/// The reads of whole tables: warnings, or (`--strict`) the failure of `check`.
fn report_scans(settings: &Settings, unserved: Vec<String>) -> Result<(), String> {
    if unserved.is_empty() {
        return print("every declared filter, search and ordering can be served from an index\n");
    }
    let lines = unserved.join("\n  ");
    if settings.strict {
        Err(format!("reads of the whole table (--strict):\n  {lines}"))
    } else {
        print(&format!("warning: reads of the whole table:\n  {lines}\n"))
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let started = std::time::Instant::now();
    let contract = load_contract(&settings)?;
    let certs = settings.tls.as_ref().map(Certificates::load).transpose()?;
    let acceptor = certs.as_ref().map(Certificates::acceptor).transpose()?;
    let db = if without_database(&settings, &contract.spec) {
        tracing::info!("every route is proxied and no database was named: serving without one");
        None
    } else {
        let db = open(&settings).await?;
        if settings.migrate {
            db.migrate(&contract.spec.migrations).await?;
        }
        Some(db)
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let store = Arc::new(ContractStore::new(contract));
    // The process's metrics, for its whole life: the request path holds a plain reference.
    let metrics: &'static Arc<Metrics> = Box::leak(Box::new(Arc::new(Metrics::new())));
    if let Some(pool) = db.clone() {
        metrics.probe_connections(move || {
            let (open, busy) = pool.connections();
            (
                i64::try_from(open).unwrap_or(i64::MAX),
                i64::try_from(busy).unwrap_or(i64::MAX),
            )
        });
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gateway = Gateway::new(store.clone(), db.clone(), settings.limits, metrics.clone());
    // The admin listener's line comes first, so a reader of the main one knows both.
    if let Some(at) = settings.admin_listen {
        let (listener, admin) = admin_listener(at, &store, &db, metrics).await?;
        let mirror = gateway.mirror_log();
        let admin = admin.with_mirror(move || mirror.report());
        tokio::spawn(admin::serve(listener, admin, until(stopped.clone())));
    }
    let watching = metrics.clone();
    store::watch(
        store.clone(),
        settings.spec.clone(),
        db.clone(),
        settings.watch,
        move |outcome| watching.reload(reload_label(outcome)),
    )?;
    if let Some(certs) = certs {
        tls::watch(certs, settings.watch)?;
    }
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    println!("specgate listening on {scheme}://{addr}");
    tracing::info!(%addr, ready_ms = started.elapsed().as_millis() as u64, "listening");
    tokio::spawn(async move {
        server::shutdown_signal().await;
        let _ = stop.send(true);
    });
    // The gateway's own `answer` at the bottom, boxed: its future is large (every executor's
    // state), and inline in the stack's it would be copied with each move of that future
    // (measured: 50,000 instructions of memcpy a retrieve); the layers' own are small.
    let bottom = move |request| Box::pin(async move { gateway.answer(request).await });
    // The stack lives as long as the process; requests hold a plain reference to it.
    let stack = Box::leak(Box::new(stack::build(
        bottom,
        store,
        &settings.limits,
        metrics.as_ref(),
    )));
    server::serve(listener, stack, settings.limits, acceptor, until(stopped)).await;
    if let Some(db) = db {
        db.close().await;
    }
    Ok(())
}

/// Binds the admin listener and prints its address.
async fn admin_listener(
    at: std::net::SocketAddr,
    store: &Arc<ContractStore>,
    db: &Option<Db>,
    metrics: &Arc<Metrics>,
) -> Result<(tokio::net::TcpListener, Admin), String> {
    let listener = tokio::net::TcpListener::bind(at)
        .await
        .map_err(|e| format!("cannot listen on {at} (admin): {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (db, status) = (db.clone(), store.clone());
    let admin = Admin::new(
        metrics.clone(),
        move || {
            let db = db.clone();
            async move {
                match db {
                    Some(db) => db.ready().await.map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            }
        },
        move || status.status(),
    );
    println!("specgate admin listening on http://{addr}");
    Ok((listener, admin))
}

/// Completes once `stopped` turns true (or its sender is gone).
async fn until(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The metrics label of a reload's outcome.
fn reload_label(outcome: &ReloadOutcome) -> Reload {
    match outcome {
        ReloadOutcome::Swapped { .. } => Reload::Swapped,
        ReloadOutcome::Unchanged => Reload::Unchanged,
        ReloadOutcome::Superseded => Reload::Superseded,
        ReloadOutcome::Refused { .. } => Reload::Refused,
    }
}
