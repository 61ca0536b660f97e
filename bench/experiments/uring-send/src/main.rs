//! Plain `send` against io_uring sends, over N loopback TCP connections (issue 23: would the
//! fan-out's writes cost less through io_uring with registered files?).
//!
//! The sender writes one 300-byte message to each of N server-side sockets per round, as a
//! group pass does; one receiver thread drains the client sides through edge-triggered epoll,
//! as the load generator does. It prints each thread's CPU per message
//! (`CLOCK_THREAD_CPUTIME_ID`; on loopback the sender's CPU includes the receive processing the
//! kernel does in its context) and the slowest pass. Modes: `send` (one `send(2)` per socket),
//! `uring` (`IORING_OP_SEND` on registered files, `batch` per `io_uring_enter`),
//! `uring-unfixed` (the same on plain descriptors). `CC=<name>` sets the server sockets'
//! congestion control (`TCP_CONGESTION`). Failures end it with an error.
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: uring-send <send|uring|uring-unfixed> <sockets> <rounds> [batch]";
    let arg = |i: usize| args.get(i).ok_or(usage);
    let mode = arg(1)?.clone();
    let n: usize = arg(2)?.parse()?;
    let rounds: usize = arg(3)?.parse()?;
    let batch: usize = match args.get(4) {
        Some(b) => b.parse()?,
        None => 64,
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..n {
        let c = TcpStream::connect(addr)?;
        let (s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        // CC=<name>: the server side's congestion control (the system's default otherwise).
        if let Ok(cc) = std::env::var("CC") {
            let r = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_CONGESTION,
                    cc.as_ptr() as *const libc::c_void,
                    cc.len() as libc::socklen_t,
                )
            };
            assert_eq!(
                r,
                0,
                "TCP_CONGESTION {cc}: {}",
                std::io::Error::last_os_error()
            );
        }
        s.set_nonblocking(true)?;
        c.set_nonblocking(true)?;
        clients.push(c);
        servers.push(s);
    }
    let msg = vec![b'x'; 300];
    let expect = n * rounds * msg.len();
    // Receiver: one thread, epoll edge-triggered over all client sockets, like the load generator.
    let rx = std::thread::spawn(move || {
        let ep = unsafe { libc::epoll_create1(0) };
        for (i, c) in clients.iter().enumerate() {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLET) as u32,
                u64: i as u64,
            };
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.as_raw_fd(), &mut ev) };
        }
        let mut got = 0usize;
        let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let mut buf = [0u8; 65536];
        while got < expect {
            let k = unsafe { libc::epoll_wait(ep, evs.as_mut_ptr(), 1024, 1000) };
            for e in &evs[..k.max(0) as usize] {
                let mut c = &clients[e.u64 as usize];
                loop {
                    match c.read(&mut buf) {
                        Ok(0) => break,
                        Ok(m) => got += m,
                        Err(_) => break,
                    }
                }
            }
        }
        thread_cpu()
    });
    let fds: Vec<i32> = servers.iter().map(|s| s.as_raw_fd()).collect();
    let mut ring = io_uring::IoUring::new(1024)?;
    if mode.starts_with("uring") {
        ring.submitter().register_files(&fds)?;
    }
    let c0 = thread_cpu();
    let t0 = Instant::now();
    let mut pass_max = 0f64;
    for _ in 0..rounds {
        let p0 = Instant::now();
        match mode.as_str() {
            "send" => {
                for &fd in &fds {
                    let r = unsafe {
                        libc::send(fd, msg.as_ptr() as *const _, msg.len(), libc::MSG_NOSIGNAL)
                    };
                    assert_eq!(r as usize, msg.len());
                }
            }
            "uring" | "uring-unfixed" => {
                let fixed = mode == "uring";
                for chunk in (0..n).collect::<Vec<_>>().chunks(batch) {
                    {
                        let mut sq = ring.submission();
                        for &i in chunk {
                            let e = if fixed {
                                io_uring::opcode::Send::new(
                                    io_uring::types::Fixed(i as u32),
                                    msg.as_ptr(),
                                    msg.len() as u32,
                                )
                            } else {
                                io_uring::opcode::Send::new(
                                    io_uring::types::Fd(fds[i]),
                                    msg.as_ptr(),
                                    msg.len() as u32,
                                )
                            };
                            unsafe { sq.push(&e.build().user_data(i as u64))? };
                        }
                    }
                    ring.submit_and_wait(chunk.len())?;
                    for cqe in ring.completion() {
                        assert_eq!(cqe.result() as usize, msg.len(), "cqe {}", cqe.result());
                    }
                }
            }
            _ => return Err(usage.into()),
        }
        pass_max = f64::max(pass_max, p0.elapsed().as_secs_f64());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let cpu = thread_cpu() - c0;
    let rcpu = rx.join().map_err(|_| "the receiver thread panicked")?;
    let wall = t0.elapsed().as_secs_f64();
    let sends = (n * rounds) as f64;
    println!("{mode} n={n} rounds={rounds} batch={batch}: sender {:.3} us/send, receiver {:.3} us/msg, max pass {:.1} ms, wall {:.2}s",
        cpu / sends * 1e6, rcpu / sends * 1e6, pass_max * 1e3, wall);
    Ok(())
}
