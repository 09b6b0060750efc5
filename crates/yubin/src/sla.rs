//! `yubin admin sla`: the SMTP transaction report from the metrics (issue 6): how many
//! transactions, the share under 7 s, p50/p99/p99.9 and the slowest.
//!
//! The figures come from `yubin_smtp_transaction_seconds`, a cumulative histogram since the
//! server started, summed over protocols and outcomes. The share under 7 s is exact (7 s is a
//! bucket bound); a percentile is the upper bound of the bucket it falls in, printed as "<= X";
//! the maximum is exact (`yubin_smtp_transaction_max_seconds`).

use std::collections::BTreeMap;

/// The report for a Prometheus text rendering.
pub fn report(metrics: &str) -> String {
    let mut buckets: BTreeMap<u64, f64> = BTreeMap::new(); // bound in µs (u64::MAX = +Inf)
    let mut max = None;
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("yubin_smtp_transaction_seconds_bucket{") {
            let Some((labels, value)) = rest.rsplit_once("} ") else {
                continue;
            };
            let Some(le) = label(labels, "le") else {
                continue;
            };
            let bound = if le == "+Inf" {
                u64::MAX
            } else {
                match le.parse::<f64>() {
                    Ok(secs) => (secs * 1e6).round() as u64,
                    Err(_) => continue,
                }
            };
            if let Ok(count) = value.trim().parse::<f64>() {
                *buckets.entry(bound).or_default() += count;
            }
        } else if let Some(value) = line.strip_prefix("yubin_smtp_transaction_max_seconds ") {
            max = value.trim().parse::<f64>().ok();
        }
    }
    let total = buckets.get(&u64::MAX).copied().unwrap_or(0.0);
    let mut out = format!("transactions: {total}\n");
    if total == 0.0 {
        return out;
    }
    let under = buckets.get(&7_000_000).copied().unwrap_or(0.0);
    out.push_str(&format!("under_7s: {:.3}%\n", 100.0 * under / total));
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let want = q * total;
        let bound = buckets
            .iter()
            .find(|(_, cumulative)| **cumulative >= want)
            .map(|(b, _)| *b);
        let text = match bound {
            Some(u64::MAX) | None => "> 300 s".to_string(),
            Some(us) => format!("<= {} ms", fmt_ms(us as f64 / 1000.0)),
        };
        out.push_str(&format!("{name}: {text}\n"));
    }
    if let Some(secs) = max {
        out.push_str(&format!("max: {} ms\n", fmt_ms(secs * 1000.0)));
    }
    out
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// The value of label `name` in `a="x",b="y"`.
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_sums_protocols_and_reads_the_7_s_bucket() {
        let text = "\
yubin_smtp_transaction_seconds_bucket{protocol=\"smtp\",outcome=\"accepted\",le=\"0.01\"} 90
yubin_smtp_transaction_seconds_bucket{protocol=\"smtp\",outcome=\"accepted\",le=\"7\"} 99
yubin_smtp_transaction_seconds_bucket{protocol=\"smtp\",outcome=\"accepted\",le=\"+Inf\"} 100
yubin_smtp_transaction_seconds_bucket{protocol=\"submission\",outcome=\"refused\",le=\"0.01\"} 900
yubin_smtp_transaction_seconds_bucket{protocol=\"submission\",outcome=\"refused\",le=\"7\"} 900
yubin_smtp_transaction_seconds_bucket{protocol=\"submission\",outcome=\"refused\",le=\"+Inf\"} 900
yubin_smtp_transaction_max_seconds 8.25
";
        let report = report(text);
        assert_eq!(
            report,
            "transactions: 1000\nunder_7s: 99.900%\np50: <= 10 ms\np99: <= 10 ms\n\
             p99.9: <= 7000 ms\nmax: 8250 ms\n"
        );
        assert_eq!(super::report(""), "transactions: 0\n");
    }
}
