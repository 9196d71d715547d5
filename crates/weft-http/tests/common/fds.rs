//! A census of this process's descriptors, with each TCP socket attributed to the client or the
//! server side of one test server (by its port in `/proc/net/tcp{,6}`), so a test can say
//! "the client holds exactly as many sockets as the pool counts" even though the test server
//! runs in the same process and holds two descriptors per connection of its own.

use std::collections::{BTreeMap, HashMap};

/// The descriptors of this process, split by role relative to one server port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Client ends: TCP sockets whose peer port is the server's.
    pub client: usize,
    /// Server ends: TCP sockets whose local port is the server's (its listener included).
    pub server: usize,
    /// Every other descriptor (reactor, pipes, other servers, ...).
    pub other: usize,
    /// Every descriptor by kind (`socket`, `anon_inode`, ...) and TCP state, for messages.
    pub kinds: BTreeMap<String, usize>,
}

/// One row of `/proc/net/tcp{,6}`.
struct Tcp {
    local: u16,
    remote: u16,
    state: String,
    /// Bytes received and not read yet.
    unread: usize,
}

/// TCP sockets of the host by inode.
fn tcp_table() -> HashMap<String, Tcp> {
    let port = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
            .unwrap_or(0)
    };
    let mut out = HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 {
                let unread = f[4]
                    .split(':')
                    .nth(1)
                    .and_then(|q| usize::from_str_radix(q, 16).ok())
                    .unwrap_or(0);
                let row = Tcp {
                    local: port(f[1]),
                    remote: port(f[2]),
                    state: f[3].to_string(),
                    unread,
                };
                out.insert(f[9].to_string(), row);
            }
        }
    }
    out
}

/// Counts this process's descriptors relative to the server listening on `port`.
pub fn census(port: u16) -> Census {
    let tcp = tcp_table();
    let mut c = Census {
        client: 0,
        server: 0,
        other: 0,
        kinds: BTreeMap::new(),
    };
    for e in std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(e.path())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let inode = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'));
        let kind = match inode.and_then(|i| tcp.get(i)) {
            Some(t) if t.local == port => {
                c.server += 1;
                format!("server-tcp-{}", t.state)
            }
            Some(t) if t.remote == port => {
                c.client += 1;
                format!("client-tcp-{}", t.state)
            }
            _ => {
                c.other += 1;
                target.split(':').next().unwrap_or("?").to_string()
            }
        };
        *c.kinds.entry(kind).or_default() += 1;
    }
    c
}

/// Bytes the server on `port` sent that the client ends (sockets of the host whose peer port is
/// `port`) have not read yet.
pub fn unread_by_clients(port: u16) -> usize {
    tcp_table()
        .values()
        .filter(|t| t.remote == port)
        .map(|t| t.unread)
        .sum()
}
