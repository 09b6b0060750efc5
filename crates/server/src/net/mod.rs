//! Listeners, TLS, connection accounting and graceful shutdown.

pub mod stream;
pub mod telemetry;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Tells sessions the server is shutting down, and lets the server wait for them.
#[derive(Clone)]
pub struct Shutdown {
    signal: watch::Receiver<bool>,
    forced: watch::Receiver<bool>,
    active: Arc<AtomicUsize>,
}

/// The controlling side of [`Shutdown`].
pub struct ShutdownTrigger {
    signal: watch::Sender<bool>,
    forced: watch::Sender<bool>,
    active: Arc<AtomicUsize>,
}

/// Creates a shutdown pair.
pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    let (force_tx, force_rx) = watch::channel(false);
    let active = Arc::new(AtomicUsize::new(0));
    (
        ShutdownTrigger {
            signal: tx,
            forced: force_tx,
            active: active.clone(),
        },
        Shutdown {
            signal: rx,
            forced: force_rx,
            active,
        },
    )
}

impl ShutdownTrigger {
    /// Asks every listener and idle session to stop, waits up to `grace` for transactions in
    /// progress to end, then tells the rest to give up (they send their protocol's goodbye) and
    /// waits briefly for that. Returns the number of sessions still running at the end.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        let _ = self.signal.send(true);
        self.wait_idle(grace).await;
        let _ = self.forced.send(true);
        self.wait_idle(Duration::from_secs(2)).await
    }

    async fn wait_idle(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while self.active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.active.load(Ordering::SeqCst)
    }
}

impl Shutdown {
    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.signal.borrow()
    }

    /// Completes when shutdown begins.
    pub async fn wait(&mut self) {
        while !*self.signal.borrow() {
            if self.signal.changed().await.is_err() {
                return;
            }
        }
    }

    /// Completes when the grace period is over and work in progress must be abandoned.
    pub async fn wait_forced(&mut self) {
        while !*self.forced.borrow() {
            if self.forced.changed().await.is_err() {
                return;
            }
        }
    }

    fn track(&self) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::SeqCst);
        ActiveGuard(self.active.clone())
    }
}

/// Counts a running session until dropped.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds every address, failing with a message naming the address that could not be bound.
pub async fn bind_all(addrs: &[String]) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for addr in addrs {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        out.push(listener);
    }
    Ok(out)
}

/// Accepts connections until shutdown, running `handle` on its own task for each.
pub fn spawn_accept_loop<F, Fut>(listener: TcpListener, mut shutdown: Shutdown, handle: F)
where
    F: Fn(TcpStream, SocketAddr, Shutdown) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown.wait() => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let guard = shutdown.track();
                    let session = handle(stream, peer, shutdown.clone());
                    tokio::spawn(async move {
                        session.await;
                        drop(guard);
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
}
