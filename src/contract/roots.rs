//! TLS client settings compiled from the contract (rustls on ring): the roots an https
//! peer's certificate must chain to, for upstreams and JWKS URLs. Read once per load, so a
//! request never reads a certificate file.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// What a TLS client's settings trust.
pub enum Roots {
    /// The certificates of this PEM file.
    File(std::path::PathBuf),
    /// The system's.
    System,
    /// Nothing (a plain upstream's settings, never used).
    Nothing,
}

impl Roots {
    /// The file's, when there is one, else the system's.
    pub fn of(ca: Option<std::path::PathBuf>) -> Roots {
        ca.map_or(Roots::System, Roots::File)
    }

    fn load(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        let added = match self {
            Roots::File(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect())
                    .map_err(|e| format!("ca {} cannot be read: {e}", path.display()))?;
                roots.add_parsable_certificates(certs).0
            }
            Roots::System => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs).0
            }
            Roots::Nothing => return Ok(roots),
        };
        match (added, self) {
            (0, Roots::File(path)) => {
                Err(format!("ca {} holds no PEM certificate", path.display()))
            }
            (0, _) => Err(
                "an https:// upstream needs root certificates: the system has none; \
                           name a PEM file with ca:"
                    .to_owned(),
            ),
            _ => Ok(roots),
        }
    }
}

/// TLS settings (rustls on ring) that trust `roots`.
pub fn client_config(roots: Roots) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots.load()?)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
