//! TLS for clients: the certificate chain and key the API's listener presents (`--tls-cert`,
//! `--tls-key`, PEM files), offered with ALPN `h2` and `http/1.1`. The pair sits behind an
//! atomic pointer that rustls asks at each handshake, so a reload (SIGHUP, or a change to
//! either file) swaps it without touching the listener; a pair that cannot be used is
//! refused with a log line and the one serving is kept, as a broken contract is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::mpsc;

use crate::config::TlsFiles;
use crate::store::{QUIET, is_read};

/// The pair being served, and the files it is read from again on reload.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    current: ArcSwap<CertifiedKey>,
}

impl Certificates {
    /// Reads the pair; a file that is missing, unreadable, not PEM, or a key that is not the
    /// certificate's, is an error in a sentence.
    pub fn load(files: &TlsFiles) -> Result<Arc<Certificates>, String> {
        let pair = read_pair(files)?;
        Ok(Arc::new(Certificates {
            files: files.clone(),
            current: ArcSwap::from_pointee(pair),
        }))
    }

    /// Reads the files again and swaps the new pair in; a pair that cannot be used is
    /// logged and the serving one kept. Whether it swapped.
    pub fn reload(&self) -> bool {
        match read_pair(&self.files) {
            Ok(pair) => {
                self.current.store(Arc::new(pair));
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::warn!("TLS certificate not reloaded, the old one is kept: {e}");
                false
            }
        }
    }

    /// The acceptor of the API's listener: TLS 1.2 and 1.3, HTTP/2 or HTTP/1.1 by ALPN.
    pub fn acceptor(self: &Arc<Certificates>) -> Result<tokio_rustls::TlsAcceptor, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS cannot be set up: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The certificate chain and its key from `files`, checked to belong together.
fn read_pair(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let (cert, key) = (&files.cert, &files.key);
    let chain = read(cert, "certificate")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the TLS certificate {} is not PEM: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "the TLS certificate {} holds no PEM certificate",
            cert.display()
        ));
    }
    let der = PrivateKeyDer::from_pem_slice(&read(key, "key")?).map_err(|e| {
        format!(
            "the TLS key {} holds no PEM private key: {e}",
            key.display()
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("the TLS key {} cannot be used: {e}", key.display()))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match().map_err(|_| {
        format!(
            "the TLS key {} is not the key of the certificate {}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(pair)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the TLS {what} {}: {e}", path.display()))
}

/// Reloads `certs` on SIGHUP and, when `watch_files`, once a change to the certificate or
/// key file has been quiet for [`QUIET`] (their folders are watched, not the files: a
/// renewal usually writes a new file and renames it over the old one).
pub fn watch(certs: Arc<Certificates>, watch_files: bool) -> Result<(), String> {
    let (changed, mut changes) = mpsc::unbounded_channel::<()>();
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
    let on_signal = changed.clone();
    tokio::spawn(
        async move { while hangup.recv().await.is_some() && on_signal.send(()).is_ok() {} },
    );
    let watcher = if watch_files {
        Some(watch_files_of(&certs.files, changed)?)
    } else {
        None
    };
    tokio::spawn(async move {
        let _watching = watcher;
        while changes.recv().await.is_some() {
            while let Ok(Some(())) = tokio::time::timeout(QUIET, changes.recv()).await {}
            certs.reload();
        }
    });
    Ok(())
}

/// A watcher of the folders of `files` that sends `changed` for each event about them.
fn watch_files_of(
    files: &TlsFiles,
    changed: mpsc::UnboundedSender<()>,
) -> Result<notify::RecommendedWatcher, String> {
    let watched = [&files.cert, &files.key].map(|f| absolute(f));
    let names = watched.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // A watcher error may mean missed events: reading the files again is the safe side.
        let ours = event.map_or(true, |e| {
            !is_read(&e) && (e.paths.is_empty() || e.paths.iter().any(|p| concerns(&names, p)))
        });
        if ours {
            let _ = changed.send(());
        }
    })
    .map_err(|e| format!("cannot watch the TLS files: {e}"))?;
    for file in &watched {
        let folder = file.parent().unwrap_or(Path::new("/"));
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", folder.display()))?;
    }
    Ok(watcher)
}

/// Whether an event's path is one of `files`, or a `..name` entry beside one (through which
/// a Kubernetes Secret swaps its files at once).
fn concerns(files: &[PathBuf], path: &Path) -> bool {
    files.iter().any(|file| {
        path == file
            || (path.parent() == file.parent()
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("..")))
    })
}

/// `path` made absolute (events name absolute paths), its folder resolved.
fn absolute(path: &Path) -> PathBuf {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let folder = folder.unwrap_or(Path::new("."));
    let folder = folder
        .canonicalize()
        .unwrap_or_else(|_| folder.to_path_buf());
    match path.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}
