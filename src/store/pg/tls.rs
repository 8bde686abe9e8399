//! TLS to the database, chosen by the URL's `sslmode` the way libpq reads it, through rustls
//! (`tokio-postgres-rustls`, the ring provider; no OpenSSL):
//!
//! - `disable`: plain TCP.
//! - `prefer` (the default): TLS when the server offers it, else plain. `require`: TLS, or no
//!   connection. Both encrypt without checking who the server is, as libpq does, unless
//!   `sslrootcert` names a CA file: then the certificate must chain to it (as `verify-ca`).
//! - `verify-ca`: TLS, and the server's certificate chains to the CA in `sslrootcert`.
//! - `verify-full`: `verify-ca`, and the certificate names the URL's host (DNS name or IP).
//!
//! `sslrootcert=FILE` (PEM) is needed by `verify-ca` and `verify-full`. Both settings are taken
//! off the URL here; tokio-postgres parses the rest, and is told disable, prefer or require.

use super::super::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS a database URL asks for.
#[derive(Debug)]
pub(super) struct Tls {
    pub mode: Mode,
    root: Option<PathBuf>,
}

fn bad(why: impl std::fmt::Display) -> StoreError {
    StoreError::Schema(format!("database URL: {why}"))
}

/// `%XX` escapes of a URL query value decoded.
fn unescape(v: &str) -> Result<String, StoreError> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(format!("bad escape in {v:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(format!("{v:?} is not UTF-8")))
}

/// Takes `sslmode` and `sslrootcert` off a `postgres://` URL: the URL left for
/// tokio-postgres, and the TLS asked for. Other forms pass unchanged (`prefer`, unverified).
pub(super) fn split(url: &str) -> Result<(String, Tls), StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = Tls {
        mode: Mode::Prefer,
        root: None,
    };
    if !(base.starts_with("postgres://") || base.starts_with("postgresql://")) {
        return Ok((url.to_owned(), tls));
    }
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                tls.mode = match unescape(value)?.as_str() {
                    "disable" => Mode::Disable,
                    "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(bad(format!(
                            "sslmode={other}: one of disable, prefer, require, verify-ca, \
                             verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => tls.root = Some(PathBuf::from(unescape(value)?)),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, tls))
}

fn load_roots(path: &Path) -> Result<RootCertStore, StoreError> {
    let cannot = |e: &dyn std::fmt::Display| bad(format!("sslrootcert {}: {e}", path.display()));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| cannot(&e))? {
        roots
            .add(cert.map_err(|e| cannot(&e))?)
            .map_err(|e| cannot(&e))?;
    }
    if roots.is_empty() {
        return Err(cannot(&"no certificate in it"));
    }
    Ok(roots)
}

impl Tls {
    /// What tokio-postgres is told: whether TLS may, must or must not be used.
    pub(super) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector checking the server as the mode says (not used with `disable`).
    pub(super) fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = self.root.as_deref().map(load_roots).transpose()?;
        let webpki = |roots: RootCertStore| {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| bad(format!("sslrootcert: {e}")))
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, roots) {
            (Mode::VerifyCa | Mode::VerifyFull, None) => {
                return Err(bad(
                    "sslmode=verify-ca and verify-full need sslrootcert=FILE (the CA that \
                     signed the server's certificate, PEM)",
                ))
            }
            (Mode::VerifyFull, Some(roots)) => webpki(roots)?,
            (_, Some(roots)) => Arc::new(AnyName(webpki(roots)?)),
            (_, None) => Arc::new(Unchecked(provider.clone())),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

/// `verify-ca`: the chain is checked, the name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(TlsError::InvalidCertificate(
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
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer`/`require` without `sslrootcert`: encrypted, the certificate not checked (libpq's
/// meaning; it keeps a passive listener out, not an active one: README says to use
/// `verify-full`). The handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{harness, Pg};
    use super::*;
    use crate::seal::Sealer;

    /// Whether the pooled connection of a database opened at `url` is encrypted.
    fn encrypted(url: &str) -> Result<bool, StoreError> {
        let core = Pg::connect(url, &Sealer::from_key(&[7; 32]))?;
        core.block(async {
            let client = core.pool().get().await.map_err(super::super::unavailable)?;
            let row = client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?;
            Ok(row.get(0))
        })
    }

    #[test]
    fn tls_is_used_as_the_url_says_and_required_tls_is_never_given_up() {
        // A cluster of this test's own, stopped and removed when it ends (a static one would
        // outlive the test process).
        let cluster = harness::Cluster::start_tls();
        let url = cluster.database("tls");
        let ca = cluster.ca_file();
        let ca = ca.to_str().unwrap();
        let full = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
        assert!(encrypted(&full).unwrap(), "verify-full");
        // The certificate names 127.0.0.1 and localhost: both pass verify-full.
        let by_name = full.replace("127.0.0.1", "localhost");
        assert!(encrypted(&by_name).unwrap(), "verify-full by host name");
        assert!(encrypted(&format!("{url}?sslmode=require")).unwrap());
        assert!(encrypted(&url).unwrap(), "prefer takes the TLS offered");
        assert!(!encrypted(&format!("{url}?sslmode=disable")).unwrap());

        // Another CA's certificate is refused.
        let other = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("openssl")
            .current_dir(other.path())
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem"])
            .args(["-out", "ca.pem", "-days", "1", "-subj", "/CN=someone else"])
            .output()
            .unwrap();
        assert!(made.status.success());
        let wrong = format!(
            "{url}?sslmode=verify-ca&sslrootcert={}",
            other.path().join("ca.pem").display()
        );
        let refused = encrypted(&wrong);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("certificate")),
            "{refused:?}"
        );

        // A server without TLS (the shared cluster): required TLS means no connection.
        let plain = harness::shared().database("tls_refused");
        let refused = encrypted(&format!("{plain}?sslmode=require"));
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("TLS")),
            "{refused:?}"
        );
        assert!(!encrypted(&plain).unwrap(), "prefer falls back to plain");
    }

    #[test]
    fn the_urls_tls_settings_are_taken_off_it() {
        let (rest, tls) = split(
            "postgres://k@db.example:5432/keitai?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://k@db.example:5432/keitai?application_name=x"
        );
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root.as_deref(), Some(Path::new("/etc/ca.pem")));
        let (rest, tls) = split("postgres://k@db/keitai").unwrap();
        assert_eq!(
            (rest.as_str(), tls.mode),
            ("postgres://k@db/keitai", Mode::Prefer)
        );
        assert!(split("postgres://k@db/keitai?sslmode=allow-anything").is_err());
        // verify-full without the CA to check against cannot be honoured.
        let (_, tls) = split("postgres://k@db/keitai?sslmode=verify-full").unwrap();
        assert!(tls.connector().is_err());
    }
}
