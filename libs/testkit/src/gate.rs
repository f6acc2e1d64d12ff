//! A TCP forwarder that can be opened and closed, to make a real server unreachable and then
//! reachable again without touching it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};

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
            // The connections live in the acceptor's set: they end when it is aborted.
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                connections.spawn(async move {
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

/// Listens on a port of its own and forwards each connection to one of `targets` that accepts
/// it, trying them in turn from the next one: what a Kubernetes Service does in front of its
/// pods. A connection whose target dies is closed, and the client's next one goes to a live
/// target. Dropping it closes the port and every connection through it.
#[derive(Debug)]
pub struct TcpBalancer {
    port: u16,
    acceptor: JoinHandle<()>,
}

impl TcpBalancer {
    /// Starts forwarding to `targets`.
    pub async fn start(targets: Vec<SocketAddr>) -> anyhow::Result<Self> {
        anyhow::ensure!(!targets.is_empty(), "a balancer needs a target");
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let targets = Arc::new(targets);
        let acceptor = tokio::spawn(async move {
            // The connections live in the acceptor's set: they end when it is aborted.
            let mut connections = JoinSet::new();
            let mut turn = 0usize;
            while let Ok((mut inbound, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                turn = turn.wrapping_add(1);
                let targets = targets.clone();
                connections.spawn(async move {
                    for offset in 0..targets.len() {
                        let target = targets[(turn + offset) % targets.len()];
                        let connect = TcpStream::connect(target);
                        if let Ok(Ok(mut outbound)) =
                            tokio::time::timeout(std::time::Duration::from_secs(1), connect).await
                        {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Ok(Self { port, acceptor })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for TcpBalancer {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
