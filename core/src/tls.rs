//! The chain's TLS material, the same for every transport: a certificate authority of its own,
//! made on first use into a folder (by default `DATA_DIR/tls`) with `rcgen`, and one certificate it
//! signed that every member of the chain presents — as a server, and as a client when TLS is
//! mutual. Clients trust that authority only (no system roots) and check the server's certificate
//! for [`CHAIN_NAME`], whatever address they dialled, so a peer named by a Kubernetes Service or
//! an address resolved at start is checked the same way. The certificate also names `localhost`,
//! `127.0.0.1`, `::1` and the services' names, for `curl --cacert` and `grpcurl -cacert` by hand.
//!
//! The rustls configurations the REST and raw-TCP stacks serve and call with are built here
//! (tonic builds its own from the same PEM files), over rustls's `ring` provider.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The name every client checks the server's certificate for.
pub const CHAIN_NAME: &str = "checkout.chain";

/// The CA's certificate in the TLS folder.
pub const CA_FILE: &str = "ca.pem";
/// The chain's certificate (signed by the CA) in the TLS folder.
pub const CERT_FILE: &str = "chain.pem";
/// The chain certificate's private key in the TLS folder.
pub const KEY_FILE: &str = "chain.key";

/// Names the chain's certificate holds besides [`CHAIN_NAME`].
const OTHER_NAMES: [&str; 10] = [
    "localhost",
    "127.0.0.1",
    "::1",
    "orders",
    "payments",
    "inventory",
    "fiscal",
    "logistics",
    "catalog",
    "sink",
];

/// What went wrong making or reading the TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate could not be made.
    #[error("making the chain's certificates: {0}")]
    Make(#[from] rcgen::Error),
    /// A PEM file holds nothing usable.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the material.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The chain's TLS material and how it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Tls {
    /// The CA's certificate (PEM): the only root clients trust.
    pub ca_pem: Vec<u8>,
    /// The chain's certificate (PEM).
    pub cert_pem: Vec<u8>,
    /// Its private key (PEM).
    pub key_pem: Vec<u8>,
    /// Mutual TLS: servers refuse a caller without a certificate the CA signed.
    pub mutual: bool,
    /// Clients present the chain's certificate when they call (on for the chain's own clients;
    /// off to play a caller from outside the chain).
    pub present_cert: bool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("mutual", &self.mutual)
            .field("present_cert", &self.present_cert)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Tls {
    /// Reads the material in `dir`, making it first when the folder holds none. Several processes
    /// (or threads) may start at once on the same folder: each makes its own in a folder of its
    /// own and the first to rename it into place wins; the others read the winner's.
    pub fn load_or_create(dir: &Path, mutual: bool) -> Result<Self, TlsError> {
        if !dir.join(KEY_FILE).exists() {
            let parent = dir.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent).map_err(io(parent))?;
            static MAKING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = MAKING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = dir.with_extension(format!("tmp-{}-{n}", std::process::id()));
            Self::create(&tmp)?;
            if std::fs::rename(&tmp, dir).is_err() {
                // Another process got there first (the rename of a folder onto a folder that
                // exists and is not empty fails): read its material.
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        Self::load(dir, mutual)
    }

    /// Makes a new CA and the chain's certificate into `dir` (which must not hold any yet).
    pub fn create(dir: &Path) -> Result<(), TlsError> {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "checkout chain CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let names: Vec<String> = std::iter::once(CHAIN_NAME)
            .chain(OTHER_NAMES)
            .map(str::to_owned)
            .collect();
        let mut leaf = CertificateParams::new(names)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "checkout chain member");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = leaf.signed_by(&key, &ca)?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(io(&path))
        };
        write(CA_FILE, &ca.pem())?;
        write(CERT_FILE, &cert.pem())?;
        // The key last: its presence says the folder is complete.
        write(KEY_FILE, &key.serialize_pem())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(KEY_FILE);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads the material in `dir`.
    pub fn load(dir: &Path, mutual: bool) -> Result<Self, TlsError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(io(&path))
        };
        let tls = Self {
            ca_pem: read(CA_FILE)?,
            cert_pem: read(CERT_FILE)?,
            key_pem: read(KEY_FILE)?,
            mutual,
            present_cert: true,
        };
        // Fail at start, with the file's name, rather than at the first connection.
        tls.certs(&tls.ca_pem, CA_FILE)?;
        tls.certs(&tls.cert_pem, CERT_FILE)?;
        tls.key()?;
        Ok(tls)
    }

    /// The same material for a caller that presents no certificate.
    pub fn without_client_cert(&self) -> Self {
        Self {
            present_cert: false,
            ..self.clone()
        }
    }

    fn certs(&self, pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(format!("{what}: {e}")))?;
        if certs.is_empty() {
            return Err(TlsError::Pem(format!("{what}: no certificate")));
        }
        Ok(certs)
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| TlsError::Pem(format!("{KEY_FILE}: {e}")))
    }

    fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in self.certs(&self.ca_pem, CA_FILE)? {
            roots.add(c)?;
        }
        Ok(roots)
    }

    /// A rustls server configuration offering `alpn` (e.g. `h2` and `http/1.1`), asking callers
    /// for a certificate the CA signed when TLS is mutual.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, TlsError> {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = if self.mutual {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(self.roots()?),
                provider,
            )
            .build()
            .map_err(|e| TlsError::Pem(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config =
            builder.with_single_cert(self.certs(&self.cert_pem, CERT_FILE)?, self.key()?)?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A rustls client configuration trusting the CA only, checking the server's certificate for
    /// [`CHAIN_NAME`] whatever name or address was dialled, offering `alpn`, and presenting the
    /// chain's certificate when [`Tls::present_cert`].
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, TlsError> {
        let provider = provider();
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(self.roots()?),
            provider.clone(),
        )
        .build()
        .map_err(|e| TlsError::Pem(format!("server verifier: {e}")))?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainVerifier(webpki)));
        let mut config = if self.present_cert {
            builder.with_client_auth_cert(self.certs(&self.cert_pem, CERT_FILE)?, self.key()?)?
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// The name clients check the server's certificate for, as rustls takes it.
    pub fn server_name() -> ServerName<'static> {
        ServerName::try_from(CHAIN_NAME).expect("a valid DNS name")
    }
}

/// The CA's own verification (chain, validity, signatures), for the name [`CHAIN_NAME`] rather
/// than the one dialled: a replica reached by an address resolved at start, or by a Service's
/// name, is the chain's if the chain's CA vouches for it under the chain's name.
#[derive(Debug)]
struct ChainVerifier(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.0.verify_server_cert(
            end_entity,
            intermediates,
            &Tls::server_name(),
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The cryptography every configuration here uses: rustls's `ring` provider.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs rustls's `ring` provider as the process's default, once: an HTTP client that is not
/// given a configuration of ours (a plain `http://` one, or the OTLP exporter's) looks for it
/// when it is built. Harmless when one is already installed.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// ALPN names.
pub mod alpn {
    /// HTTP/2.
    pub const H2: &[u8] = b"h2";
    /// HTTP/1.1.
    pub const HTTP1: &[u8] = b"http/1.1";
}
