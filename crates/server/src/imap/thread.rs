//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), over the messages a search found.

use std::collections::HashMap;

use yubin_proto::mime::MessageStructure;
use yubin_proto::mime::search as mime;

/// One message as the algorithms see it.
pub struct Item {
    id: u32,
    date: i64,
    subject: String,
    /// The subject had a reply or forward prefix (RFC 5256 §2.1).
    reply: bool,
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
                reply: false,
                message_id: None,
                parents: Vec::new(),
            };
        };
        let ids = mime::thread_ids(bytes, s);
        let raw = super::search::subject(s);
        let base = mime::base_subject(&raw);
        Self {
            id,
            date: mime::sent_date(s).unwrap_or(received),
            reply: !base
                .eq_ignore_ascii_case(&raw.split_whitespace().collect::<Vec<_>>().join(" ")),
            subject: base.to_ascii_uppercase(),
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
    /// The sort key of a thread or subtree (RFC 5256 §3 REFERENCES step 4 and 6): the sent date
    /// of its message, or for a placeholder that of its earliest child; ties go by the number
    /// of that message, so a placeholder never jumps ahead of a message of the same date.
    fn sort_key(&self) -> (i64, u32) {
        match self.id {
            Some(id) => (self.date, id),
            None => self
                .children
                .iter()
                .map(Node::sort_key)
                .min()
                .unwrap_or((self.date, u32::MAX)),
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

/// RFC 5256 REFERENCES (§3 steps 1-6): link messages by Message-ID, References and
/// In-Reply-To; drop placeholder containers with no message where they add nothing; group the
/// remaining roots by base subject; order siblings and threads by sent date.
pub fn references(items: Vec<Item>) -> Vec<Node> {
    let mut c = Containers::default();
    for (n, item) in items.iter().enumerate() {
        // Step 1A: a duplicate Message-ID is treated as if the message had none.
        let key = match &item.message_id {
            Some(id) if c.index.get(id).is_none_or(|&i| c.all[i].id.is_none()) => id.clone(),
            _ => format!("\u{0}unique-{n}"),
        };
        let me = c.get(&key);
        c.all[me].id = Some(item.id);
        c.all[me].date = item.date;
        c.all[me].subject = item.subject.clone();
        c.all[me].reply = item.reply;
        // Step 1B: link the reference chain, never creating a loop or relinking a parent.
        let mut prev: Option<usize> = None;
        for r in &item.parents {
            let this = c.get(r);
            if let Some(p) = prev
                && c.all[this].parent.is_none()
                && !c.reaches(p, this)
            {
                c.all[this].parent = Some(p);
            }
            prev = Some(this);
        }
        // Step 1C: the message's parent is its last reference (replacing a guess from another
        // message's References).
        c.all[me].parent = match prev {
            Some(p) if p != me && !c.reaches(p, me) => Some(p),
            _ => None,
        };
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); c.all.len()];
    let mut roots = Vec::new();
    for (i, node) in c.all.iter().enumerate() {
        match node.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    // Step 4: prune placeholders.
    let mut threads: Vec<Tree> = roots
        .into_iter()
        .flat_map(|r| prune(r, &c.all, &children, true))
        .collect();
    // Step 5: group roots by base subject.
    threads = group_by_subject(threads);
    let mut out: Vec<Node> = threads.into_iter().map(Tree::into_node).collect();
    out.sort_by_key(Node::sort_key);
    out
}

#[derive(Default, Clone)]
struct Container {
    id: Option<u32>,
    date: i64,
    subject: String,
    reply: bool,
    parent: Option<usize>,
}

#[derive(Default)]
struct Containers {
    all: Vec<Container>,
    index: HashMap<String, usize>,
}

impl Containers {
    fn get(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.all.push(Container::default());
        self.index.insert(key.to_string(), self.all.len() - 1);
        self.all.len() - 1
    }

    /// Whether following parents from `from` reaches `to` (a link `to -> from` would loop).
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut cur = Some(from);
        let mut steps = 0;
        while let Some(i) = cur {
            if i == to || steps > self.all.len() {
                return true;
            }
            steps += 1;
            cur = self.all[i].parent;
        }
        false
    }
}

/// A thread while it is being built: a container's message (or none) and its subtrees.
struct Tree {
    id: Option<u32>,
    date: i64,
    subject: String,
    reply: bool,
    children: Vec<Tree>,
}

impl Tree {
    fn subject(&self) -> &str {
        match self.id {
            Some(_) => &self.subject,
            None => self.children.first().map_or("", |c| c.subject()),
        }
    }

    fn into_node(self) -> Node {
        let mut children: Vec<Node> = self.children.into_iter().map(Tree::into_node).collect();
        children.sort_by_key(Node::sort_key);
        Node {
            id: self.id,
            date: self.date,
            children,
        }
    }
}

/// Step 4: a placeholder with no children goes; one with children gives them to its parent,
/// except at the top, where it stays when it holds more than one.
fn prune(i: usize, all: &[Container], children: &[Vec<usize>], top: bool) -> Vec<Tree> {
    let kids: Vec<Tree> = children[i]
        .iter()
        .flat_map(|&k| prune(k, all, children, false))
        .collect();
    let c = &all[i];
    if c.id.is_none() && (kids.len() <= 1 || !top) {
        return kids;
    }
    vec![Tree {
        id: c.id,
        date: c.date,
        subject: c.subject.clone(),
        reply: c.reply,
        children: kids,
    }]
}

/// Step 5: roots that share a base subject are merged, the way RFC 5256 §3 step 5 describes.
fn group_by_subject(roots: Vec<Tree>) -> Vec<Tree> {
    let mut table: HashMap<String, usize> = HashMap::new();
    for (i, r) in roots.iter().enumerate() {
        let subject = r.subject();
        if subject.is_empty() {
            continue;
        }
        match table.get(subject) {
            None => {
                table.insert(subject.to_string(), i);
            }
            Some(&j) => {
                let old = &roots[j];
                // A placeholder is preferred, then a non-reply over a reply.
                if (r.id.is_none() && old.id.is_some())
                    || (old.reply && !r.reply && r.id.is_some() && old.id.is_some())
                {
                    table.insert(subject.to_string(), i);
                }
            }
        }
    }
    let mut slots: Vec<Option<Tree>> = roots.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some(subject) = slots[i].as_ref().map(|r| r.subject().to_string()) else {
            continue;
        };
        let Some(&j) = table.get(&subject) else {
            continue;
        };
        if i == j || subject.is_empty() {
            continue;
        }
        let (Some(this), Some(mut target)) = (slots[i].take(), slots[j].take()) else {
            continue;
        };
        match (target.id.is_none(), this.id.is_none()) {
            (true, true) => target.children.extend(this.children),
            (true, false) => target.children.push(this),
            (false, false) if this.reply && !target.reply => target.children.push(this),
            _ => {
                target = Tree {
                    id: None,
                    date: 0,
                    subject: String::new(),
                    reply: false,
                    children: vec![target, this],
                };
            }
        }
        slots[j] = Some(target);
    }
    slots.into_iter().flatten().collect()
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
