//! A TCP forwarder that can be opened and closed, to make a real server unreachable and then
//! reachable again without touching it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// Listens on a port of its own and, while open, forwards every connection to `target`. While
/// closed nothing listens on the port, so clients get "connection refused".
#[derive(Debug)]
pub struct TcpGate {
    port: u16,
    target: SocketAddr,
    acceptor: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl TcpGate {
    /// A closed gate in front of `target`.
    pub fn closed(target: SocketAddr) -> Self {
        Self {
            port: crate::free_port(),
            target,
            acceptor: Arc::new(Mutex::new(None)),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts forwarding.
    pub async fn open(&self) -> anyhow::Result<()> {
        let mut acceptor = self.acceptor.lock().await;
        if acceptor.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let target = self.target;
        *acceptor = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
        Ok(())
    }
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        if let Ok(mut acceptor) = self.acceptor.try_lock()
            && let Some(handle) = acceptor.take()
        {
            handle.abort();
        }
    }
}
