//! The floor of S2's fan-out pass: a one-thread epoll server that does nothing per member but one
//! `send` of a frame serialized once. It speaks the benchmark peers' protocol (the load
//! generator's `--peer` mode): `GET /ws?access_token=<uid>&groups=<g>`, and
//! `{"type":"multicast","groupId":G,"content":C}` reaches every other member of G as
//! `{"type":"multicast","senderId":uid,"groupId":G,"content":C,"timestamp":ms}`.
//! No limits, no persistence, no auth: not a server, a measuring stick.
use base64::Engine;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{SystemTime, UNIX_EPOCH};

struct Conn {
    tcp: TcpStream,
    uid: String,
    groups: Vec<String>,
    upgraded: bool,
    buf: Vec<u8>,
    /// What the kernel did not take yet (never in S2; kept so nothing is lost).
    out: Vec<u8>,
}

fn epoll_ctl(ep: RawFd, op: i32, fd: RawFd, events: u32) {
    let mut ev = libc::epoll_event {
        events,
        u64: fd as u64,
    };
    unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) };
}

fn send_all(ep: RawFd, c: &mut Conn, data: &[u8]) {
    if !c.out.is_empty() {
        c.out.extend_from_slice(data);
        return;
    }
    let fd = c.tcp.as_raw_fd();
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) };
    let n = if n < 0 { 0 } else { n as usize };
    if n < data.len() {
        c.out.extend_from_slice(&data[n..]);
        epoll_ctl(
            ep,
            libc::EPOLL_CTL_MOD,
            fd,
            (libc::EPOLLIN | libc::EPOLLOUT) as u32,
        );
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 10);
    f.push(0x81);
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

fn query(path: &str, key: &str) -> String {
    path.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("")
        .to_string()
}

/// Handles the upgrade; false when the connection should close.
fn upgrade(c: &mut Conn) -> Option<bool> {
    let end = c.buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&c.buf[..end]).to_string();
    c.buf.drain(..end + 4);
    let path = head.lines().next()?.split(' ').nth(1)?.to_string();
    let key = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| v.trim().to_string())
    })?;
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    c.uid = query(&path, "access_token");
    c.groups = query(&path, "groups")
        .split(',')
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    let _ = io::Write::write_all(&mut &c.tcp, answer.as_bytes());
    c.upgraded = true;
    Some(true)
}

/// The next whole client frame: (opcode, unmasked payload).
fn next_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 2 {
        return None;
    }
    let op = buf[0] & 0x0f;
    let (len, mut at) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().ok()?) as usize, 10),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if buf.len() < at + 4 + len {
        return None;
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    at += 4;
    let payload = buf[at..at + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    buf.drain(..at + len);
    Some((op, payload))
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    eprintln!("ideal-fanout on {addr}");
    let ep = unsafe { libc::epoll_create1(0) };
    let lfd = listener.as_raw_fd();
    epoll_ctl(ep, libc::EPOLL_CTL_ADD, lfd, libc::EPOLLIN as u32);
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    // Members in join order, as uWS's topics keep them.
    let mut groups: HashMap<String, Vec<RawFd>> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        for ev in events.iter().take(n.max(0) as usize) {
            let fd = ev.u64 as RawFd;
            let flags = ev.events;
            if fd == lfd {
                while let Ok((tcp, _)) = listener.accept() {
                    let _ = tcp.set_nonblocking(true);
                    let _ = tcp.set_nodelay(true);
                    let cfd = tcp.as_raw_fd();
                    epoll_ctl(ep, libc::EPOLL_CTL_ADD, cfd, libc::EPOLLIN as u32);
                    conns.insert(
                        cfd,
                        Conn {
                            tcp,
                            uid: String::new(),
                            groups: Vec::new(),
                            upgraded: false,
                            buf: Vec::new(),
                            out: Vec::new(),
                        },
                    );
                }
                continue;
            }
            let mut closed = false;
            let mut publish: Vec<(String, String, Vec<u8>)> = Vec::new();
            if let Some(c) = conns.get_mut(&fd) {
                if flags & libc::EPOLLOUT as u32 != 0 && !c.out.is_empty() {
                    let n = unsafe {
                        libc::send(fd, c.out.as_ptr().cast(), c.out.len(), libc::MSG_NOSIGNAL)
                    };
                    if n > 0 {
                        c.out.drain(..n as usize);
                    }
                    if c.out.is_empty() {
                        epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32);
                    }
                }
                loop {
                    match c.tcp.read(&mut scratch) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(n) => c.buf.extend_from_slice(&scratch[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
                if !c.upgraded && !closed {
                    match upgrade(c) {
                        Some(true) => {
                            for g in &c.groups {
                                groups.entry(g.clone()).or_default().push(fd);
                            }
                        }
                        Some(false) => closed = true,
                        None => {}
                    }
                }
                while c.upgraded && !closed {
                    let Some((op, payload)) = next_frame(&mut c.buf) else {
                        break;
                    };
                    match op {
                        0x8 => closed = true,
                        0x1 => {
                            let Ok(m) = serde_json::from_slice::<serde_json::Value>(&payload)
                            else {
                                continue;
                            };
                            if m["type"] == "multicast" {
                                let g = match &m["groupId"] {
                                    serde_json::Value::String(s) => s.clone(),
                                    v => v.to_string(),
                                };
                                let out = serde_json::json!({"type":"multicast","senderId":c.uid,"groupId":g,
                                    "content":m["content"],"timestamp":now_ms() as u64});
                                publish.push((g, c.uid.clone(), frame(out.to_string().as_bytes())));
                            }
                        }
                        _ => {}
                    }
                }
            }
            for (g, _from, f) in publish {
                let Some(members) = groups.get(&g) else {
                    continue;
                };
                if !members.contains(&fd) {
                    continue;
                }
                // The pass: one send per member, nothing else.
                for &m in members {
                    if m != fd {
                        if let Some(c) = conns.get_mut(&m) {
                            send_all(ep, c, &f);
                        }
                    }
                }
            }
            if closed {
                if let Some(c) = conns.remove(&fd) {
                    for g in &c.groups {
                        if let Some(v) = groups.get_mut(g) {
                            v.retain(|&x| x != fd);
                        }
                    }
                }
            }
        }
    }
}
