//! TLS through rustls: the certificate and key are re-read when their files change (or on
//! SIGHUP), so that rotation needs no restart; with a client CA, callers must present a
//! certificate it signed (mutual TLS).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use futures::Stream;
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{
    rustls::{
        self,
        server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
        sign::CertifiedKey,
    },
    server::TlsStream,
    TlsAcceptor,
};
use tracing::{debug, info, warn};

use crate::config::TlsFiles;

/// How often the certificate files are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// Pause after a failed accept before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// Longest a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes under way at once; a connection beyond them is closed at once, so that a flood
/// of connections that never finish their handshake costs bounded memory and no more than
/// HANDSHAKE_TIMEOUT of each slot.
pub const MAX_HANDSHAKES: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path} as PEM: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("TLS set-up failed: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client CA {path}: {reason}")]
    ClientCa { path: PathBuf, reason: String },
}

fn pem_error(path: &Path) -> impl Fn(rustls_pki_types::pem::Error) -> TlsError + '_ {
    move |err| TlsError::Pem {
        path: path.into(),
        reason: err.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(pem_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(path))?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { path: path.into() });
    }
    Ok(certificates)
}

fn certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(pem_error(&files.key))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)?;
    let certified = CertifiedKey::new(chain, signing);
    // A key of another certificate (one file rewritten before the other) would fail every
    // handshake: refuse the pair, and keep the one in force.
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(err) => Err(err.into()),
    }
}

/// The certificate in force, swapped when the files change.
#[derive(Debug)]
struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().expect("the certificate lock is never poisoned"),
        ))
    }
}

/// A TLS acceptor for `files`, and the task that keeps its certificate current.
pub fn acceptor(files: &TlsFiles) -> Result<(TlsAcceptor, impl std::future::Future<Output = ()>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
    let builder = match &files.client_ca {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates(path)? {
                roots.add(certificate)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|err| TlsError::ClientCa {
                    path: path.clone(),
                    reason: err.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let resolver = Arc::new(Reloading {
        current: RwLock::new(Arc::new(certified_key(files)?)),
    });
    let mut config = builder.with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let watch = watch(files.clone(), resolver);
    Ok((TlsAcceptor::from(Arc::new(config)), watch))
}

fn modified(files: &TlsFiles) -> (Option<SystemTime>, Option<SystemTime>) {
    let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    (time(&files.cert), time(&files.key))
}

/// Reloads the certificate when its files change or on SIGHUP; a pair that does not load
/// (say, the certificate written before its key) keeps the one in force.
async fn watch(files: TlsFiles, resolver: Arc<Reloading>) {
    let mut seen = modified(&files);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        // Some(true): SIGHUP; Some(false): the signal stream ended (stop listening to it).
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(signal) => Some(signal.recv().await.is_some()),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<Option<bool>>();
        let (forced, ended) = tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => (false, false),
            got = signalled => (got == Some(true), got == Some(false)),
        };
        #[cfg(unix)]
        if ended {
            hangup = None;
        }
        #[cfg(not(unix))]
        let _ = ended;
        let now = modified(&files);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        match certified_key(&files) {
            Ok(key) => {
                *resolver
                    .current
                    .write()
                    .expect("the certificate lock is never poisoned") = Arc::new(key);
                info!(cert = %files.cert.display(), "TLS certificate reloaded");
            }
            Err(err) => {
                warn!(%err, "TLS certificate files changed but do not load; the previous certificate stays in force")
            }
        }
    }
}

/// The TLS connections made on `listener`: each handshake runs on its own task, so that a
/// slow or broken client holds up no one else; failed handshakes are dropped.
pub fn incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> impl Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let handshakes = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            // Without TCP_NODELAY, small responses wait for delayed ACKs (~40 ms each).
            let _ = stream.set_nodelay(true);
            if sender.is_closed() {
                break; // the server has stopped
            }
            let Ok(slot) = std::sync::Arc::clone(&handshakes).try_acquire_owned() else {
                debug!(%peer, "{MAX_HANDSHAKES} TLS handshakes under way: closing another");
                continue;
            };
            let acceptor = acceptor.clone();
            let connections = sender.clone();
            tokio::spawn(async move {
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                drop(slot);
                match handshake {
                    Ok(Ok(tls)) => {
                        let _ = connections.send(Ok(tls)).await;
                    }
                    Ok(Err(err)) => debug!(%peer, %err, "TLS handshake failed"),
                    Err(_) => debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
