//! The HTTPS listener: a self-signed certificate for 127.0.0.1/localhost
//! made at start (rcgen), rustls on the ring provider (builds without
//! cmake), ALPN h2 + http/1.1 so browsers multiplex over HTTP/2.

use crate::server::MakeDropAware;
use anyhow::Context;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
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

/// Binds `addr` (port 0 picks one), starts serving `app` over TLS in the
/// background (through `server::DropAware`, as plain HTTP), and returns the
/// bound address.
pub fn spawn(addr: SocketAddr, app: Router) -> anyhow::Result<SocketAddr> {
    let config = RustlsConfig::from_config(Arc::new(self_signed_config()?));
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("binding https on {addr}"))?;
    let bound = listener.local_addr()?;
    let server = axum_server::from_tcp_rustls(listener, config)?;
    tokio::spawn(async move {
        if let Err(e) = server.serve(MakeDropAware(app)).await {
            eprintln!("pacer-emulator: https server stopped: {e}");
        }
    });
    Ok(bound)
}
