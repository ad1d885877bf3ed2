//! The contract being served, and how a new one replaces it while the gateway runs.
//!
//! A [`Contract`] is one compiled load of the spec folder and never changes. The
//! [`ContractStore`] holds the current one behind an atomic pointer: a request takes one
//! [`ContractStore::snapshot`] and finishes on it, whatever is swapped meanwhile. A reload
//! (SIGHUP, or a change under the folder: see [`watch`]) compiles the folder off the request
//! path, makes every check `specgate check` makes, and swaps only when all of them pass;
//! otherwise the last good contract keeps serving and each problem is logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::contract::{Problem, Spec};
use crate::db::Db;
use crate::exec::proxy::Upstreams;
use crate::sql::Dialect;

/// How long a reload waits for the database to answer the column check (as `check` does).
const DATABASE_CHECK: Duration = Duration::from_secs(3);

/// How long the spec folder (or a TLS file) must have been quiet before a change is read, so
/// that a file still being written is never compiled.
pub const QUIET: Duration = Duration::from_millis(200);

/// One compiled load of the spec folder: immutable, shared by every request that took it.
pub struct Contract {
    /// The compiled spec.
    pub spec: Spec,
    /// The OpenAPI document, built once per load when `openapi_path` serves it.
    pub openapi: Option<Value>,
    /// The upstreams' connection pools and the proxied responses' checks.
    pub upstreams: Upstreams,
    /// SHA-256 (hex) of the contract files: `routes.yaml` and everything under `schemas/`.
    pub hash: String,
    /// When this contract was loaded.
    pub loaded_at: SystemTime,
    /// The rate limiters, one per limit of `spec.policies` (new with each load: in-memory
    /// counts start again after a reload; Redis's stay).
    pub limiters: crate::limiter::Limiters,
}

impl Contract {
    /// Loads and compiles the contract in `dir` (no database is consulted).
    pub fn load(dir: &Path) -> Result<Contract, Vec<Problem>> {
        let spec = crate::contract::load(dir)?;
        let hash = contract_hash(dir).map_err(|p| vec![p])?;
        Contract::new(spec, hash)
    }

    fn new(spec: Spec, hash: String) -> Result<Contract, Vec<Problem>> {
        let document = crate::openapi::document(&spec);
        let upstreams = Upstreams::new(&spec, &document).map_err(|message| {
            vec![Problem {
                file: "routes.yaml".into(),
                line: None,
                message: format!("cannot compile the proxied responses: {message}"),
            }]
        })?;
        let openapi = spec.openapi_path.as_ref().map(|_| document);
        let limiters = crate::limiter::Limiters::new(&spec.policies.limits).map_err(|message| {
            vec![Problem {
                file: "routes.yaml".into(),
                line: None,
                message,
            }]
        })?;
        Ok(Contract {
            limiters,
            spec,
            openapi,
            upstreams,
            hash,
            loaded_at: SystemTime::now(),
        })
    }
}

/// What one reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new contract passed every check and now serves.
    Swapped {
        /// Its hash.
        hash: String,
    },
    /// The contract files are the ones already serving: nothing was compiled or swapped.
    Unchanged,
    /// The new contract failed a check; the last good one keeps serving.
    Refused {
        /// Every problem, one line each, with file and line where known.
        problems: Vec<String>,
    },
    /// The files changed again while they were read: nothing was swapped, and the reload
    /// that change triggers reads them anew.
    Superseded,
}

impl ReloadOutcome {
    /// The result's name on the status page.
    pub fn name(&self) -> &'static str {
        match self {
            ReloadOutcome::Swapped { .. } => "swapped",
            ReloadOutcome::Unchanged => "unchanged",
            ReloadOutcome::Refused { .. } => "refused",
            ReloadOutcome::Superseded => "superseded",
        }
    }

    fn problems(&self) -> &[String] {
        match self {
            ReloadOutcome::Refused { problems } => problems,
            _ => &[],
        }
    }
}

/// A reload attempt, for the status page.
struct Attempt {
    at: SystemTime,
    outcome: ReloadOutcome,
}

/// The contract serving now, swappable atomically, and what the last reload did.
pub struct ContractStore {
    current: ArcSwap<Contract>,
    last: ArcSwapOption<Attempt>,
    /// Held for the whole of a reload: reloads run one at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// What compiling the folder gave, before the database is asked.
enum Candidate {
    /// The files hash to the contract serving now.
    Unchanged,
    /// A contract that passed the checks needing no database.
    New(Box<Contract>),
}

impl ContractStore {
    /// A store serving `contract`.
    pub fn new(contract: Contract) -> ContractStore {
        ContractStore {
            current: ArcSwap::from_pointee(contract),
            last: ArcSwapOption::empty(),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The contract serving now (one atomic load). A request takes one and finishes on it.
    pub fn snapshot(&self) -> Arc<Contract> {
        self.current.load_full()
    }

    /// Reloads the contract from `dir`: compiles it (on a blocking thread), checks the
    /// migration files for both databases and that `db` has every table and column it
    /// names, and swaps only if all of that passes. Never migrates. Files hashing to the
    /// serving contract are `Unchanged`. Problems are logged, one line each.
    pub async fn reload(&self, dir: &Path, db: Option<&Db>) -> ReloadOutcome {
        self.reload_settled(dir, db, &|| true).await
    }

    /// [`ContractStore::reload`], but when `settled` (asked once the files are read) says
    /// they changed meanwhile, nothing is swapped and nothing is refused: the outcome is
    /// [`ReloadOutcome::Superseded`], and the reload that change triggers reads them again.
    /// So a file caught half-written (truncated, then written) is never served nor reported.
    pub async fn reload_settled(
        &self,
        dir: &Path,
        db: Option<&Db>,
        settled: &(dyn Fn() -> bool + Sync),
    ) -> ReloadOutcome {
        let _one_at_a_time = self.reloading.lock().await;
        let outcome = self.attempt(dir, db, settled).await;
        log(dir, &outcome);
        self.last.store(Some(Arc::new(Attempt {
            at: SystemTime::now(),
            outcome: outcome.clone(),
        })));
        outcome
    }

    async fn attempt(
        &self,
        dir: &Path,
        db: Option<&Db>,
        settled: &(dyn Fn() -> bool + Sync),
    ) -> ReloadOutcome {
        let serving = self.snapshot().hash.clone();
        let folder = dir.to_path_buf();
        let compiled = tokio::task::spawn_blocking(move || compile(&folder, &serving)).await;
        // A change while the files were read may have shown a file half-written. One after
        // that does not matter here: the read was whole, and that change has its own reload.
        if !settled() {
            return ReloadOutcome::Superseded;
        }
        let contract = match compiled {
            Ok(Ok(Candidate::New(contract))) => contract,
            Ok(Ok(Candidate::Unchanged)) => return ReloadOutcome::Unchanged,
            Ok(Err(problems)) => return ReloadOutcome::Refused { problems },
            Err(e) => {
                return ReloadOutcome::Refused {
                    problems: vec![format!("compiling the contract failed: {e}")],
                };
            }
        };
        if let Err(problems) = database_matches(&contract.spec, db).await {
            return ReloadOutcome::Refused { problems };
        }
        let hash = contract.hash.clone();
        self.current.store(Arc::from(contract));
        ReloadOutcome::Swapped { hash }
    }

    /// The admin `/contract` page: the serving contract's hash and load time, and the last
    /// reload attempt (when, result, problems).
    pub fn status(&self) -> Value {
        let current = self.snapshot();
        let last = self.last.load();
        let last_reload = match last.as_deref() {
            None => json!({ "at": null, "result": "none", "problems": [] }),
            Some(attempt) => json!({
                "at": rfc3339(attempt.at),
                "result": attempt.outcome.name(),
                "problems": attempt.outcome.problems(),
            }),
        };
        json!({
            "hash": current.hash,
            "loaded_at": rfc3339(current.loaded_at),
            "last_reload": last_reload,
        })
    }
}

/// Everything a reload checks without the database, unless the files are the serving ones.
fn compile(dir: &Path, serving: &str) -> Result<Candidate, Vec<String>> {
    let hash = contract_hash(dir).map_err(|p| vec![located(dir, &p)])?;
    if hash == serving {
        return Ok(Candidate::Unchanged);
    }
    let spec = crate::contract::load(dir)
        .map_err(|problems| problems.iter().map(|p| located(dir, p)).collect::<Vec<_>>())?;
    let mut problems: Vec<String> = Vec::new();
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        if let Err(problem) = crate::db::migrations(&spec.migrations, dialect)
            && !problems.contains(&problem)
        {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let contract = Contract::new(spec, hash)
        .map_err(|problems| problems.iter().map(|p| located(dir, p)).collect::<Vec<_>>())?;
    Ok(Candidate::New(Box::new(contract)))
}

/// A problem as `specgate check` prints it: the file under the spec folder, line, message.
fn located(dir: &Path, problem: &Problem) -> String {
    let mut problem = problem.clone();
    problem.file = dir.join(&problem.file).display().to_string();
    problem.to_string()
}

/// Why a contract with native routes is refused by a gateway started without a database.
const NO_DATABASE: &str = "this contract serves routes from the database, but the gateway \
    was started without one (every route of its first contract was proxied): set \
    DATABASE_URL (or --database-url) and restart it";

/// Whether `db` has every table and column `spec` names; a database that does not answer
/// in time refuses the reload too, since nothing then says the contract fits it. Without a
/// database (`None`), only a contract that needs none passes.
async fn database_matches(spec: &Spec, db: Option<&Db>) -> Result<(), Vec<String>> {
    let Some(db) = db else {
        return if spec.needs_database() {
            Err(vec![NO_DATABASE.to_owned()])
        } else {
            Ok(())
        };
    };
    match tokio::time::timeout(DATABASE_CHECK, db.missing_columns(spec)).await {
        Ok(Ok(missing)) if missing.is_empty() => Ok(()),
        Ok(Ok(missing)) => Err(missing),
        Ok(Err(e)) => Err(vec![format!(
            "the database could not be checked against the contract: {e}"
        )]),
        Err(_) => Err(vec![format!(
            "the database did not answer the column check within {} s",
            DATABASE_CHECK.as_secs()
        )]),
    }
}

fn log(dir: &Path, outcome: &ReloadOutcome) {
    let spec = dir.display();
    match outcome {
        ReloadOutcome::Swapped { hash } => {
            tracing::info!(%spec, %hash, "contract reloaded");
        }
        ReloadOutcome::Unchanged => tracing::info!(%spec, "contract unchanged"),
        ReloadOutcome::Superseded => {
            tracing::info!(%spec, "contract files changed while read; reading them again");
        }
        ReloadOutcome::Refused { problems } => {
            for problem in problems {
                tracing::error!(%spec, "contract reload refused: {problem}");
            }
        }
    }
}

fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The contract files of `dir` in the order they are hashed: `routes.yaml`, the folder's other
/// YAML and JSON files (upstreams' OpenAPI documents, API-key files), then every file under
/// `schemas/` and `keys/` (public keys, JWKS files) by path, as paths relative to `dir` with `/` between parts.
fn contract_files(dir: &Path) -> Result<Vec<String>, Problem> {
    let mut files = Vec::new();
    let mut pending = vec![String::from("schemas"), String::from("keys")];
    while let Some(folder) = pending.pop() {
        // A route table that only proxies may have no schemas of its own, and one without
        // public key files no `keys/`.
        if (folder == "schemas" || folder == "keys") && !dir.join(&folder).exists() {
            continue;
        }
        let entries = std::fs::read_dir(dir.join(&folder)).map_err(|e| Problem {
            file: folder.clone(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| Problem {
                file: folder.clone(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{folder}/{name}");
            if entry.path().is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    // Upstreams' OpenAPI documents: the folder's other YAML and JSON files, in name order.
    let mut documents: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| is_document(name))
                .collect()
        })
        .unwrap_or_default();
    documents.sort();
    files.splice(0..0, documents);
    files.insert(0, String::from("routes.yaml"));
    Ok(files)
}

/// A top-level file that may be an upstream's OpenAPI document (`routes.yaml` aside).
fn is_document(name: &str) -> bool {
    name != "routes.yaml"
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// SHA-256, hex, over each contract file's relative path and contents (each length-prefixed,
/// so that no two different folders give the same input).
fn contract_hash(dir: &Path) -> Result<String, Problem> {
    let mut hasher = Sha256::new();
    for file in contract_files(dir)? {
        let bytes = std::fs::read(dir.join(&file)).map_err(|e| Problem {
            file: file.clone(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        for part in [file.as_bytes(), bytes.as_slice()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Starts the reload triggers for `store`: SIGHUP always, and when `watch_files` any change
/// to `routes.yaml` or under `schemas/` in `dir`, once the folder has been quiet for 200 ms
/// (the SQLite database files kept there, `target/` and `.git/` are ignored). Triggers that
/// arrive while a reload is waiting to run join it; reloads run one at a time.
/// `on_reload` sees every outcome (for metrics). Needs the tokio runtime it is called from.
pub fn watch(
    store: Arc<ContractStore>,
    dir: PathBuf,
    db: Option<Db>,
    watch_files: bool,
    on_reload: impl Fn(&ReloadOutcome) + Send + Sync + 'static,
) -> Result<(), String> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| format!("watching the contract needs the runtime: {e}"))?;
    // Every change to a contract file counts one; a trigger carries the count it saw, and
    // a reload whose count moved while it read the files is superseded.
    let changes = Arc::new(AtomicU64::new(0));
    let (trigger, mut triggered) = tokio::sync::watch::channel(0u64);
    let trigger = Arc::new(trigger);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
    if watch_files {
        watch_folder(&runtime, &dir, trigger.clone(), changes.clone())?;
    }
    let hup = (trigger.clone(), changes.clone());
    runtime.spawn(async move {
        while hangup.recv().await.is_some() {
            hup.0.send_replace(hup.1.load(Ordering::SeqCst));
        }
    });
    runtime.spawn(async move {
        let _keep = trigger;
        while triggered.changed().await.is_ok() {
            let seen = *triggered.borrow_and_update();
            let settled = || changes.load(Ordering::SeqCst) == seen;
            let outcome = store.reload_settled(&dir, db.as_ref(), &settled).await;
            on_reload(&outcome);
        }
    });
    Ok(())
}

/// Watches `routes.yaml` (the folder itself, not recursively) and `schemas/` (recursively),
/// and sends `trigger` once each burst of changes has been quiet for [`QUIET`].
fn watch_folder(
    runtime: &tokio::runtime::Handle,
    dir: &Path,
    trigger: Arc<tokio::sync::watch::Sender<u64>>,
    count: Arc<AtomicU64>,
) -> Result<(), String> {
    let (changed, mut changes) = mpsc::unbounded_channel::<()>();
    let counted = count.clone();
    // Events name paths under the folder as the watcher resolved it: absolute.
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // A watcher error may mean missed events: reading the folder again is the safe side.
        if event.is_err() || event.is_ok_and(|e| counts(&root, &e)) {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = changed.send(());
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    for folder in ["schemas", "keys"] {
        let folder = dir.join(folder);
        if folder.exists() {
            watcher
                .watch(&folder, RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", folder.display()))?;
        }
    }
    runtime.spawn(async move {
        let _watching = watcher;
        while changes.recv().await.is_some() {
            loop {
                match tokio::time::timeout(QUIET, changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            trigger.send_replace(count.load(Ordering::SeqCst));
        }
    });
    Ok(())
}

/// Whether a file event may change the contract: not a read, and about a contract file (an
/// event naming no path at all asks for a rescan, so it counts).
fn counts(dir: &Path, event: &notify::Event) -> bool {
    !is_read(event) && (event.paths.is_empty() || event.paths.iter().any(|p| contract_file(dir, p)))
}

/// Whether a file event is only a read (the reload's own reading of the files, say): any
/// access but the close of a file written.
pub fn is_read(event: &notify::Event) -> bool {
    matches!(event.kind, EventKind::Access(_))
        && event.kind != EventKind::Access(AccessKind::Close(AccessMode::Write))
}

/// `routes.yaml`, the folder's YAML and JSON files, anything under `schemas/` and `keys/`,
/// and the `..name` entries through which a
/// deployment swaps the whole folder at once (a Kubernetes ConfigMap's `..data`). Nothing
/// else of the folder counts: the spec folder is often a project's root, where the SQLite
/// database, logs and build output are written all the time.
fn contract_file(dir: &Path, path: &Path) -> bool {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let mut parts = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy());
    match parts.next().as_deref() {
        Some("routes.yaml") => parts.next().is_none(),
        Some("schemas" | "keys") => true,
        // An upstream's OpenAPI document (`openapi:` names a file of the folder).
        Some(name) if is_document(name) => parts.next().is_none(),
        Some(name) => name.starts_with(".."),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh copy of `tests/fixtures/books` under the temporary folder, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn books() -> Folder {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books");
            let dir = std::env::temp_dir().join(format!(
                "specgate-store-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            copy(&fixture, &dir);
            Folder(dir)
        }

        fn read(&self, file: &str) -> String {
            std::fs::read_to_string(self.0.join(file)).unwrap()
        }

        fn write(&self, file: &str, text: &str) {
            std::fs::write(self.0.join(file), text).unwrap();
        }

        /// Replaces `from` (which must be there) with `to` in `file`.
        fn edit(&self, file: &str, from: &str, to: &str) {
            let text = self.read(file);
            assert!(text.contains(from), "{file} has no {from:?}");
            self.write(file, &text.replacen(from, to, 1));
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// An in-memory SQLite database migrated with the folder's migrations.
    async fn database(folder: &Folder) -> Db {
        let db = Db::connect("sqlite::memory:", 1, &Limits::default()).unwrap();
        db.migrate(&folder.0.join("migrations")).await.unwrap();
        db
    }

    fn store(folder: &Folder) -> ContractStore {
        ContractStore::new(Contract::load(&folder.0).unwrap_or_else(|p| panic!("{p:?}")))
    }

    fn page_size(contract: &Contract) -> u64 {
        contract.spec.resources[0].page_size
    }

    #[tokio::test]
    async fn files_that_changed_while_read_are_neither_swapped_nor_refused() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        let before = store.snapshot().hash.clone();
        folder.edit("routes.yaml", "page_size: 2", "page_size: 5");
        let moved = || false;
        let outcome = store.reload_settled(&folder.0, Some(&db), &moved).await;
        assert_eq!(outcome, ReloadOutcome::Superseded);
        assert_eq!(store.snapshot().hash, before);
        // A half-written file caught mid-change is not reported as refused either.
        folder.write("routes.yaml", "resources:\n");
        let outcome = store.reload_settled(&folder.0, Some(&db), &moved).await;
        assert_eq!(outcome, ReloadOutcome::Superseded);
        assert_eq!(store.status()["last_reload"]["result"], "superseded");
    }

    #[tokio::test]
    async fn a_changed_contract_is_swapped_and_old_snapshots_stay_old() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        let before = store.snapshot();
        folder.edit("routes.yaml", "page_size: 2", "page_size: 5");
        let outcome = store.reload(&folder.0, Some(&db)).await;
        let after = store.snapshot();
        assert_eq!(
            outcome,
            ReloadOutcome::Swapped {
                hash: after.hash.clone()
            }
        );
        assert_ne!(after.hash, before.hash);
        assert_eq!(page_size(&after), 5);
        assert_eq!(
            page_size(&before),
            2,
            "a snapshot taken before stays as it was"
        );
        assert!(
            after.openapi.is_some(),
            "the document is built with each load"
        );
        let status = store.status();
        assert_eq!(status["hash"], after.hash.as_str());
        assert_eq!(status["last_reload"]["result"], "swapped");
        assert_eq!(status["last_reload"]["problems"], json!([]));
    }

    #[tokio::test]
    async fn the_same_files_are_unchanged() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        assert_eq!(store.status()["last_reload"]["result"], "none");
        let before = store.snapshot();
        assert_eq!(
            store.reload(&folder.0, Some(&db)).await,
            ReloadOutcome::Unchanged
        );
        assert!(
            Arc::ptr_eq(&before, &store.snapshot()),
            "nothing was swapped"
        );
        assert_eq!(store.status()["last_reload"]["result"], "unchanged");
    }

    #[tokio::test]
    async fn a_broken_routes_yaml_is_refused_with_its_file_and_line() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        let before = store.snapshot();
        folder.edit("routes.yaml", "page_size: 2", "page_sise: 2");
        let line = folder
            .read("routes.yaml")
            .lines()
            .position(|l| l.contains("page_sise"))
            .map(|i| i + 1)
            .unwrap();
        let ReloadOutcome::Refused { problems } = store.reload(&folder.0, Some(&db)).await else {
            panic!("a broken routes.yaml was not refused");
        };
        let at = format!("{}:{line}: ", folder.0.join("routes.yaml").display());
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&at) && p.contains("page_sise")),
            "{problems:?} names no {at}"
        );
        assert!(
            Arc::ptr_eq(&before, &store.snapshot()),
            "the last good one serves"
        );
        let status = store.status();
        assert_eq!(status["last_reload"]["result"], "refused");
        assert_eq!(status["last_reload"]["problems"], json!(problems));
        assert_eq!(status["hash"], before.hash.as_str());
    }

    #[tokio::test]
    async fn a_column_the_database_lacks_is_refused_without_migrating() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        let before = store.snapshot();
        folder.edit(
            "schemas/book.json",
            r#""in_print": {"#,
            r#""blurb": { "type": "string" }, "in_print": {"#,
        );
        let ReloadOutcome::Refused { problems } = store.reload(&folder.0, Some(&db)).await else {
            panic!("a column missing from the database was not refused");
        };
        assert!(
            problems.iter().any(|p| p.contains("library_book.blurb")),
            "{problems:?}"
        );
        assert!(Arc::ptr_eq(&before, &store.snapshot()));
        // The same files again are still refused: only a swap changes what is compared.
        assert!(matches!(
            store.reload(&folder.0, Some(&db)).await,
            ReloadOutcome::Refused { .. }
        ));
    }

    #[tokio::test]
    async fn bad_migration_files_are_refused() {
        let folder = Folder::books();
        let db = database(&folder).await;
        let store = store(&folder);
        folder.edit("routes.yaml", "page_size: 2", "page_size: 3");
        folder.write("migrations/0001_again.sql", "SELECT 1;");
        let ReloadOutcome::Refused { problems } = store.reload(&folder.0, Some(&db)).await else {
            panic!("a version given twice was not refused");
        };
        assert_eq!(problems.len(), 2, "one per database: {problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| p.contains("version 1 is given twice"))
        );
    }

    #[test]
    fn the_hash_covers_routes_and_schemas_by_relative_path() {
        let one = Folder::books();
        let two = Folder::books();
        let hash = |f: &Folder| contract_hash(&f.0).unwrap();
        assert_eq!(
            hash(&one),
            hash(&two),
            "the folder's own path is not hashed"
        );
        assert_eq!(hash(&one).len(), 64);
        two.write("migrations/0002_more.sql", "SELECT 1;");
        assert_eq!(hash(&one), hash(&two), "migrations are not contract files");
        two.write("schemas/extra.json", "{}");
        assert_ne!(hash(&one), hash(&two));
        std::fs::remove_file(two.0.join("schemas/extra.json")).unwrap();
        two.edit("schemas/book.json", "Title", "Name");
        assert_ne!(hash(&one), hash(&two));
    }

    #[test]
    fn only_contract_files_trigger_reloads() {
        let dir = Path::new("/srv/api");
        for path in [
            "/srv/api/specgate.sqlite3",
            "/srv/api/specgate.sqlite3-wal",
            "/srv/api/target/debug/x",
            "/srv/api/.git/index",
            "/srv/api/specgate.log",
            "/srv/api/migrations/0003_x.sql",
        ] {
            assert!(!contract_file(dir, Path::new(path)), "{path}");
        }
        for path in [
            "/srv/api/routes.yaml",
            "/srv/api/schemas/a.json",
            "/srv/api/pets.yaml",
            "/srv/api/..data",
        ] {
            assert!(contract_file(dir, Path::new(path)), "{path}");
        }
        let event = |kind, path: &str| notify::Event::new(kind).add_path(PathBuf::from(path));
        let write = EventKind::Modify(notify::event::ModifyKind::Any);
        assert!(counts(dir, &event(write, "/srv/api/routes.yaml")));
        assert!(!counts(dir, &event(write, "/srv/api/specgate.sqlite3")));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert!(!counts(dir, &event(open, "/srv/api/routes.yaml")), "reads");
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(counts(dir, &event(closed, "/srv/api/routes.yaml")));
    }

    /// Starts `watch` on a fresh store and hands back the outcomes it reports.
    async fn watched(
        folder: &Folder,
        watch_files: bool,
    ) -> (Arc<ContractStore>, mpsc::UnboundedReceiver<ReloadOutcome>) {
        let db = database(folder).await;
        let store = Arc::new(store(folder));
        let (seen, outcomes) = mpsc::unbounded_channel();
        watch(
            store.clone(),
            folder.0.clone(),
            Some(db),
            watch_files,
            move |o| {
                let _ = seen.send(o.clone());
            },
        )
        .unwrap();
        (store, outcomes)
    }

    /// The next reload that did something (SIGHUP is tested through a gateway process, in
    /// tests/reload.rs: a signal sent here would reach every test's store).
    async fn next(outcomes: &mut mpsc::UnboundedReceiver<ReloadOutcome>) -> ReloadOutcome {
        loop {
            let outcome = tokio::time::timeout(Duration::from_secs(10), outcomes.recv())
                .await
                .expect("no reload within 10 s")
                .expect("the watcher stopped");
            if outcome != ReloadOutcome::Unchanged {
                return outcome;
            }
        }
    }

    #[tokio::test]
    async fn a_file_change_reloads_once_the_folder_is_quiet() {
        let folder = Folder::books();
        let (store, mut outcomes) = watched(&folder, true).await;
        // Written in two parts: the first half alone does not compile, and is never read.
        let routes = folder
            .read("routes.yaml")
            .replace("page_size: 2", "page_size: 4");
        let (head, _) = routes.split_at(routes.len() / 2);
        folder.write("routes.yaml", head);
        tokio::time::sleep(Duration::from_millis(30)).await;
        folder.write("routes.yaml", &routes);
        // The database file beside the contract does not count.
        folder.write("specgate.sqlite3-wal", "x");
        let outcome = next(&mut outcomes).await;
        assert!(
            matches!(outcome, ReloadOutcome::Swapped { .. }),
            "{outcome:?}"
        );
        assert_eq!(page_size(&store.snapshot()), 4);
        folder.edit("schemas/book.json", "Title", "Name");
        let outcome = next(&mut outcomes).await;
        assert!(
            matches!(outcome, ReloadOutcome::Swapped { .. }),
            "{outcome:?}"
        );
    }
}
