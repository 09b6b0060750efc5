//! Percentiles and CPU accounting (client process and server process tree, from /proc).

use std::fs;

/// The p-th percentile (0..=100) of sorted microsecond samples, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ticks_per_sec() -> f64 {
    // USER_HZ is 100 on every Linux architecture this runs on.
    100.0
}

/// utime+stime (and with `children`, cutime+cstime of reaped children) of one process, in s.
fn proc_cpu(pid: u32, children: bool) -> f64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name, which may contain spaces.
    let Some(close) = stat.rfind(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // fields[0] is state (field 3); utime is field 14 -> index 11.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut t = get(11) + get(12);
    if children {
        t += get(13) + get(14);
    }
    t / ticks_per_sec()
}

fn child_pids(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

/// CPU seconds used so far by a server: the process, its live descendants, and (through
/// cutime/cstime) the descendants it has already reaped, as Dovecot's master does.
pub fn tree_cpu(root: u32) -> f64 {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let kids = child_pids(pids[i]);
        pids.extend(kids);
        i += 1;
    }
    pids.iter().map(|&p| proc_cpu(p, true)).sum()
}

/// CPU seconds used by this process (all threads).
pub fn self_cpu() -> f64 {
    proc_cpu(std::process::id(), false)
}

/// Busy and total jiffies of the whole machine, to report the load beside each figure.
pub fn machine_jiffies() -> (u64, u64) {
    let Ok(stat) = fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
    }
}
