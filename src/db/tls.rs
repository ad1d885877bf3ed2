//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert`, read from `DATABASE_URL`, on
//! rustls. tokio-postgres knows only `disable`, `prefer` and `require` and no root
//! certificate, so the URL is read here first: the verifying modes become a rustls verifier,
//! and the driver gets the URL without what it cannot parse. sqlx (migrations) reads the
//! whole URL itself and agrees on every mode.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// TLS when the server offers it, plain text otherwise; the certificate is not checked.
    Prefer,
    /// TLS or nothing; the certificate is not checked.
    Require,
    /// TLS, and the server's certificate must chain to a trusted root (any host name).
    VerifyCa,
    /// TLS, a trusted chain, and a certificate for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }

    /// The mode's name as a URL writes it.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: the verifying modes are `require` to it (the checks
    /// are the verifier's).
    fn driver(self) -> &'static str {
        match self {
            SslMode::VerifyCa | SslMode::VerifyFull => "require",
            mode => mode.name(),
        }
    }
}

/// The TLS of one `DATABASE_URL`: the mode, the roots file if named, and the rustls
/// configuration made from them. It is tokio-postgres's connector too.
#[derive(Clone)]
pub struct PgTls {
    /// The URL's `sslmode` (`prefer` when it has none, as libpq).
    pub mode: SslMode,
    /// The URL's `sslrootcert`, when it names a file.
    pub root_file: Option<PathBuf>,
    config: Arc<ClientConfig>,
}

impl PgTls {
    /// Reads `sslmode` and `sslrootcert` from `url`: the TLS to use, and the URL left for
    /// tokio-postgres (those two removed, the mode put back in its words).
    pub fn from_url(url: &str) -> Result<(PgTls, String), String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut mode, mut root) = (SslMode::Prefer, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("{key} in DATABASE_URL is not UTF-8"))?;
            match key {
                "sslmode" => mode = SslMode::parse(&value)?,
                "sslrootcert" => root = Some(value.into_owned()),
                _ => kept.push(pair),
            }
        }
        let sslmode = format!("sslmode={}", mode.driver());
        kept.push(&sslmode);
        let driver_url = format!("{base}?{}", kept.join("&"));
        // `system` (as libpq 16 reads it) and no file at all both mean the system's roots.
        let root_file = root.filter(|r| r != "system").map(PathBuf::from);
        let config = client_config(mode, root_file.as_deref())?;
        let tls = PgTls {
            mode,
            root_file,
            config: Arc::new(config),
        };
        Ok((tls, driver_url))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `mode`.
fn client_config(
    mode: SslMode,
    root_file: Option<&std::path::Path>,
) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Unverified {
            algorithms: provider.signature_verification_algorithms,
        }),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(root_file)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| format!("the root certificates cannot be used: {e}"))?;
            if mode == SslMode::VerifyCa {
                Arc::new(ChainOnly(webpki)) as Arc<dyn ServerCertVerifier>
            } else {
                webpki
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The roots a verifying mode trusts: the `sslrootcert` file's certificates, or the
/// system's.
fn roots(root_file: Option<&std::path::Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let Some(path) = root_file else {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(
                "sslmode verify-ca and verify-full need root certificates: no \
                        sslrootcert was given and the system has none"
                    .into(),
            );
        }
        return Ok(roots);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("sslrootcert {} cannot be read: {e}", path.display()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "sslrootcert {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the names in the certificate are not
/// compared with the host.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match verified {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, with any certificate (libpq's meaning of them). The
/// handshake's signatures are still checked: the connection is with the holder of the key
/// the certificate names.
#[derive(Debug)]
struct Unverified {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl MakeTlsConnect<Socket> for PgTls {
    type Stream = Encrypted;
    type TlsConnect = Handshake;
    type Error = rustls::pki_types::InvalidDnsNameError;

    /// `host` is empty for a Unix socket, over which PostgreSQL offers no TLS.
    fn make_tls_connect(&mut self, host: &str) -> Result<Handshake, Self::Error> {
        let name = match host {
            "" => None,
            host => Some(ServerName::try_from(host.to_owned())?),
        };
        Ok(Handshake {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

/// One connection's TLS handshake, to the host it was opened to.
pub struct Handshake {
    connector: tokio_rustls::TlsConnector,
    name: Option<ServerName<'static>>,
}

impl TlsConnect<Socket> for Handshake {
    type Stream = Encrypted;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Encrypted>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "TLS needs a host name")
            })?;
            let stream = self.connector.connect(name, stream).await?;
            Ok(Encrypted(Box::new(stream)))
        })
    }
}

/// A TLS connection to PostgreSQL.
pub struct Encrypted(Box<tokio_rustls::client::TlsStream<Socket>>);

impl tokio_postgres::tls::TlsStream for Encrypted {
    /// None offered: SCRAM then authenticates without binding to the TLS channel, which is
    /// what tokio-postgres does when a connector offers none.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifying_modes_reach_the_driver_as_require_and_the_root_file_is_removed() {
        let (tls, url) = PgTls::from_url(
            "postgres://u@localhost:5433/db?application_name=x&sslmode=verify-full&sslrootcert=system",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_file, None);
        assert_eq!(
            url,
            "postgres://u@localhost:5433/db?application_name=x&sslmode=require"
        );
    }

    #[test]
    fn no_sslmode_is_prefer() {
        let (tls, url) = PgTls::from_url("postgres://u@h/db").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tls.mode, SslMode::Prefer);
        assert_eq!(url, "postgres://u@h/db?sslmode=prefer");
    }

    #[test]
    fn an_unknown_mode_and_a_missing_root_file_are_said_in_words() {
        let bad = PgTls::from_url("postgres://u@h/db?sslmode=allow").err();
        assert_eq!(
            bad.as_deref(),
            Some("sslmode=allow is not one of disable, prefer, require, verify-ca, verify-full")
        );
        let missing =
            PgTls::from_url("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
                .err()
                .unwrap_or_default();
        assert!(
            missing.starts_with("sslrootcert /nonexistent/ca.pem cannot be read"),
            "{missing}"
        );
    }
}
