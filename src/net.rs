//! Who is on the other end of a connection, and how many connections one address may hold
//! (SPEC §9.21). The client address is the TCP peer, or, only when the peer is one of
//! `CHAT_TRUSTED_PROXIES`, the nearest untrusted address its `X-Forwarded-For` names: a header a
//! client can write is never believed from anyone else.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The client address of `peer` given its `X-Forwarded-For` header values.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Each proxy appends the address it got the request from: read from the right, skipping
    // our own proxies; the first address that is not one of them is the client. Anything left
    // of it was written by the client and proves nothing.
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

/// Open connections per client address, capped. Connections from trusted proxies are not
/// counted: a proxy carries many clients.
#[derive(Clone)]
pub struct ConnLimit {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One counted connection; dropping it (the connection ends) frees its place.
pub struct ConnSlot {
    limit: ConnLimit,
    ip: IpAddr,
}

impl ConnLimit {
    pub fn new(max: usize) -> ConnLimit {
        ConnLimit {
            max,
            open: Arc::default(),
        }
    }

    /// A place for a new connection from `ip`, or None when it already holds `max`.
    pub fn open(&self, ip: IpAddr) -> Option<ConnSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ConnSlot {
            limit: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut open = self.limit.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())];
        let xff = ["6.6.6.6, 1.2.3.4, 10.0.0.2"];
        // From a stranger the header is ignored.
        assert_eq!(
            client_ip(ip("5.5.5.5"), xff.into_iter(), &trusted),
            ip("5.5.5.5")
        );
        // From our proxy: the nearest address that is not a proxy of ours, not the spoofed one.
        assert_eq!(
            client_ip(ip("10.0.0.1"), xff.into_iter(), &trusted),
            ip("1.2.3.4")
        );
        // No header, or only proxies: the last proxy seen.
        assert_eq!(
            client_ip(ip("10.0.0.1"), [].into_iter(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["10.0.0.9"].into_iter(), &trusted),
            ip("10.0.0.9")
        );
        // Garbage stops the walk at what is known.
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["1.2.3.4, junk"].into_iter(), &trusted),
            ip("10.0.0.1")
        );
        // Several header lines read as one list.
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["7.7.7.7", "8.8.8.8"].into_iter(), &trusted),
            ip("8.8.8.8")
        );
    }

    #[test]
    fn connections_per_address_are_capped_and_freed() {
        let limit = ConnLimit::new(2);
        let a = limit.open(ip("1.1.1.1"));
        let b = limit.open(ip("1.1.1.1"));
        assert!(a.is_some() && b.is_some());
        assert!(limit.open(ip("1.1.1.1")).is_none());
        assert!(
            limit.open(ip("2.2.2.2")).is_some(),
            "another address has its own"
        );
        drop(a);
        assert!(limit.open(ip("1.1.1.1")).is_some());
        drop(b);
        assert!(limit.open.lock().map(|m| m.is_empty()).unwrap_or(false));
    }
}
