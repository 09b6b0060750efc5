//! The benchmark's messages: deterministic, so both servers get byte-identical mail.
//!
//! Message `i` is a plain-text RFC 5322 message of exactly `size` octets (at least the headers)
//! whose body is words from a fixed vocabulary. The search word appears in the body of exactly
//! the messages with `i % 100 == NEEDLE_REMAINDER` (1 %), nowhere else (no vocabulary word,
//! header or number contains it).

/// The word SEARCH TEXT looks for.
pub const NEEDLE: &str = "zanzibar";
const NEEDLE_REMAINDER: u64 = 7;

const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about",
    "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him",
    "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way",
    "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now",
    "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "meeting",
    "report", "budget", "quarter", "invoice", "schedule", "project", "review", "server", "mail",
    "account", "release", "customer", "support", "ticket", "deadline", "draft", "agenda",
    "minutes", "office", "travel", "contract", "payment", "shipment", "order", "product",
];

/// `xorshift64*`: a small deterministic generator; quality is irrelevant here.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Whether message `i` contains [`NEEDLE`].
pub fn has_needle(i: u64) -> bool {
    i % 100 == NEEDLE_REMAINDER
}

/// Message `i`, `size` octets long (longer only if the headers alone exceed it).
pub fn message(i: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng::new(i + 1);
    let sender = i % 97;
    // A fixed start date, one minute per message, so Date headers differ and sort.
    let minute = i % 60;
    let hour = (i / 60) % 24;
    let day = 1 + (i / 1440) % 28;
    let subject: Vec<&str> = (0..5)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect();
    let mut m = format!(
        "From: Sender {sender} <sender{sender}@example.test>\r\n\
         To: Bench User <bench@example.test>\r\n\
         Subject: Message {i}: {}\r\n\
         Date: Mon, {day:02} Jun 2026 {hour:02}:{minute:02}:00 +0000\r\n\
         Message-ID: <m{i}@bench.example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n",
        subject.join(" ")
    )
    .into_bytes();
    let headers = m.len();
    let needle_at = if has_needle(i) {
        m.len() + (size.saturating_sub(m.len())) / 2
    } else {
        usize::MAX
    };
    let mut line_len = 0;
    let mut placed = false;
    // Leave room for the final CRLF.
    while m.len() + 2 < size {
        let word = if !placed && m.len() >= needle_at {
            placed = true;
            NEEDLE
        } else {
            WORDS[rng.below(WORDS.len() as u64) as usize]
        };
        if line_len + word.len() + 1 > 72 {
            m.extend_from_slice(b"\r\n");
            line_len = 0;
        } else if line_len > 0 {
            m.push(b' ');
            line_len += 1;
        }
        m.extend_from_slice(word.as_bytes());
        line_len += word.len();
    }
    if has_needle(i) && !placed {
        m.extend_from_slice(b"\r\n");
        m.extend_from_slice(NEEDLE.as_bytes());
    }
    // Pad or trim the body to the exact size, ending in CRLF.
    let target = size.max(headers + 2);
    m.truncate(target - 2);
    while m.len() < target - 2 {
        m.push(b'.');
    }
    if m.ends_with(b"\r") {
        m.pop();
        m.push(b'.');
    }
    m.extend_from_slice(b"\r\n");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_size_and_needle_only_where_planned() {
        for i in 0..1000 {
            let m = message(i, 4096);
            assert_eq!(m.len(), 4096, "message {i}");
            let text = String::from_utf8(m).unwrap();
            assert_eq!(text.contains(NEEDLE), has_needle(i), "message {i}");
            assert!(text.ends_with("\r\n"));
            assert!(!text.contains("\r\r") && !text.contains("\n\n"));
        }
        assert_eq!((0..10_000).filter(|&i| has_needle(i)).count(), 100);
    }

    #[test]
    fn deterministic() {
        assert_eq!(message(42, 2048), message(42, 2048));
        assert_ne!(message(42, 2048), message(43, 2048));
    }
}
