//! The HTTPS listener: a self-signed certificate for 127.0.0.1/localhost
//! made at start (rcgen), rustls on the ring provider (builds without
//! cmake), ALPN h2 + http/1.1 so browsers multiplex over HTTP/2.

use anyhow::Context;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// A rustls server config with a fresh self-signed certificate for
/// `127.0.0.1`, `::1` and `localhost`, offering h2 then http/1.1.
pub fn self_signed_config() -> anyhow::Result<rustls::ServerConfig> {
    let names = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)
        .context("generating the self-signed certificate")?;
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("building the TLS config")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
