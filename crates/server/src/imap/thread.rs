//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), over the messages a search found.

use std::collections::HashMap;

use yubin_proto::mime::MessageStructure;
use yubin_proto::mime::search as mime;

/// One message as the algorithms see it.
pub struct Item {
    id: u32,
    date: i64,
    subject: String,
    message_id: Option<String>,
    /// References then In-Reply-To, oldest first.
    parents: Vec<String>,
}

impl Item {
    /// `id` is the number to report (sequence number or UID); `received` sorts messages
    /// without a usable Date header.
    pub fn new(id: u32, received: i64, content: Option<(&[u8], &MessageStructure)>) -> Self {
        let Some((bytes, s)) = content else {
            return Self {
                id,
                date: received,
                subject: String::new(),
                message_id: None,
                parents: Vec::new(),
            };
        };
        let ids = mime::thread_ids(bytes, s);
        Self {
            id,
            date: mime::sent_date(s).unwrap_or(received),
            subject: mime::base_subject(&super::search::subject(s)).to_ascii_uppercase(),
            message_id: ids.message_id,
            parents: if ids.references.is_empty() {
                ids.in_reply_to
            } else {
                ids.references
            },
        }
    }
}

/// A thread node: a message (or a placeholder for a missing parent) and its children.
pub struct Node {
    id: Option<u32>,
    date: i64,
    children: Vec<Node>,
}

impl Node {
    fn first_date(&self) -> i64 {
        if self.id.is_some() {
            self.date
        } else {
            self.children
                .iter()
                .map(Node::first_date)
                .min()
                .unwrap_or(self.date)
        }
    }
}

/// RFC 5256 ORDEREDSUBJECT: group by base subject; the earliest message is the parent of the
/// others; threads ordered by their first message's date.
pub fn ordered_subject(mut items: Vec<Item>) -> Vec<Node> {
    items.sort_by(|a, b| (&a.subject, a.date, a.id).cmp(&(&b.subject, b.date, b.id)));
    let mut threads: Vec<Node> = Vec::new();
    let mut last_subject: Option<String> = None;
    for item in items {
        let node = Node {
            id: Some(item.id),
            date: item.date,
            children: Vec::new(),
        };
        match (&last_subject, threads.last_mut()) {
            (Some(s), Some(root)) if *s == item.subject => root.children.push(node),
            _ => {
                last_subject = Some(item.subject.clone());
                threads.push(node);
            }
        }
    }
    threads.sort_by_key(|t| (t.date, t.id));
    threads
}

/// RFC 5256 REFERENCES: parent/child links from References and In-Reply-To (steps 1-4: link,
/// find roots, prune placeholders, sort by date). Step 5, merging roots by base subject, is not
/// done yet: threads whose replies lack References stay apart.
pub fn references(items: Vec<Item>) -> Vec<Node> {
    // Containers indexed by message id; messages without one get a unique key.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut ids: Vec<Option<u32>> = Vec::new();
    let mut dates: Vec<i64> = Vec::new();
    let mut parent: Vec<Option<usize>> = Vec::new();
    let container = |key: &str,
                     index: &mut HashMap<String, usize>,
                     ids: &mut Vec<Option<u32>>,
                     dates: &mut Vec<i64>,
                     parent: &mut Vec<Option<usize>>| {
        *index.entry(key.to_string()).or_insert_with(|| {
            ids.push(None);
            dates.push(0);
            parent.push(None);
            ids.len() - 1
        })
    };
    for (n, item) in items.iter().enumerate() {
        let own_key = match &item.message_id {
            Some(id) if index.get(id).is_none_or(|&c| ids[c].is_none()) => id.clone(),
            // RFC 5256 step 1A: a duplicate Message-ID is treated as if it had none.
            _ => format!("\u{0}unique-{n}"),
        };
        let me = container(&own_key, &mut index, &mut ids, &mut dates, &mut parent);
        ids[me] = Some(item.id);
        dates[me] = item.date;
        // Link the reference chain, never creating a loop.
        let mut prev: Option<usize> = None;
        for r in &item.parents {
            let c = container(r, &mut index, &mut ids, &mut dates, &mut parent);
            if let Some(p) = prev
                && parent[c].is_none()
                && !reaches(&parent, p, c)
                && p != c
            {
                parent[c] = Some(p);
            }
            prev = Some(c);
        }
        if let Some(p) = prev {
            if p != me && !reaches(&parent, p, me) {
                parent[me] = Some(p);
            }
        } else {
            parent[me] = None;
        }
    }
    let count = ids.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut roots = Vec::new();
    for (c, p) in parent.iter().enumerate().take(count) {
        match *p {
            Some(p) => children[p].push(c),
            None => roots.push(c),
        }
    }
    fn build(c: usize, ids: &[Option<u32>], dates: &[i64], children: &[Vec<usize>]) -> Vec<Node> {
        let mut kids: Vec<Node> = children[c]
            .iter()
            .flat_map(|&k| build(k, ids, dates, children))
            .collect();
        kids.sort_by_key(|k| (k.first_date(), k.id));
        match ids[c] {
            Some(id) => vec![Node {
                id: Some(id),
                date: dates[c],
                children: kids,
            }],
            // RFC 5256 step 4: a placeholder with one child (or at the top, any) is replaced
            // by its children, except that at the top several children stay grouped.
            None if kids.len() <= 1 => kids,
            None => vec![Node {
                id: None,
                date: 0,
                children: kids,
            }],
        }
    }
    let mut threads: Vec<Node> = roots
        .into_iter()
        .flat_map(|r| build(r, &ids, &dates, &children))
        .collect();
    threads.sort_by_key(|t| (t.first_date(), t.id));
    threads
}

/// Whether following parents from `from` reaches `to`.
fn reaches(parent: &[Option<usize>], from: usize, to: usize) -> bool {
    let mut cur = Some(from);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == to {
            return true;
        }
        steps += 1;
        if steps > parent.len() {
            return true;
        }
        cur = parent[c];
    }
    false
}

/// Writes threads as RFC 5256 §4 lists: `(1 2 (3)(4 5))`.
pub fn write(out: &mut Vec<u8>, threads: &[Node]) {
    for t in threads {
        out.push(b'(');
        write_node(out, t);
        out.push(b')');
    }
}

fn write_node(out: &mut Vec<u8>, node: &Node) {
    let mut wrote = false;
    if let Some(id) = node.id {
        out.extend_from_slice(id.to_string().as_bytes());
        wrote = true;
    }
    match node.children.len() {
        0 => {}
        1 if node.id.is_some() => {
            out.push(b' ');
            write_node(out, &node.children[0]);
        }
        _ => {
            if wrote {
                out.push(b' ');
            }
            for c in &node.children {
                out.push(b'(');
                write_node(out, c);
                out.push(b')');
            }
        }
    }
}
