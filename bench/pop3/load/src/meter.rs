//! Wall time, client CPU, server CPU and machine load over one measured interval.

use std::time::Instant;

use crate::stats::{machine_jiffies, self_cpu, tree_cpu};

pub struct Meter {
    pub start: Instant,
    client: f64,
    server: Option<(u32, f64)>,
    jiffies: (u64, u64),
}

impl Meter {
    pub fn start(server_pid: Option<u32>) -> Self {
        Meter {
            start: Instant::now(),
            client: self_cpu(),
            server: server_pid.map(|p| (p, tree_cpu(p))),
            jiffies: machine_jiffies(),
        }
    }

    /// Seconds elapsed, and `elapsed=.. client_cpu=.. server_cpu=.. machine_busy=..` (CPU in
    /// seconds, the server's whole process tree; busy in % of all cores, everything on the
    /// machine included).
    pub fn finish(&self) -> (f64, String) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let client = self_cpu() - self.client;
        let server = match self.server {
            Some((pid, before)) => format!("{:.2}", tree_cpu(pid) - before),
            None => "-".into(),
        };
        let (b1, t1) = machine_jiffies();
        let busy = if t1 > self.jiffies.1 {
            100.0 * (b1 - self.jiffies.0) as f64 / (t1 - self.jiffies.1) as f64
        } else {
            0.0
        };
        (
            elapsed,
            format!(
                "elapsed={elapsed:.3} client_cpu={client:.2} server_cpu={server} machine_busy={busy:.0}%"
            ),
        )
    }
}
