//! A loopback link emulator: a TCP relay in front of the endpoint that behaves like a base's
//! satellite link. Each direction has its own bandwidth and a one-way delay (half the round
//! trip), every connection can be cut at an interval (the link drops) or after N bytes, and it
//! counts the bytes it delivered each way, so a test can tell how much was sent twice.
//!
//! Each direction of each connection is a delay line: a reader thread stamps every chunk with
//! when it arrived, a writer thread sends it once the delay has passed, no faster than the
//! bandwidth. Only 127.0.0.1.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What the link does.
#[derive(Clone, Copy, Debug)]
pub struct LinkSpec {
    /// Bits per second from the endpoint to the device.
    pub down_bps: u64,
    /// Bits per second from the device to the endpoint.
    pub up_bps: u64,
    /// Round trip: each direction delays every byte by half of it.
    pub rtt: Duration,
    /// Every connection open is cut at this interval (the link drops).
    pub drop_every: Option<Duration>,
    /// Each connection is cut once this many bytes went either way on it.
    pub cut_after_bytes: Option<u64>,
}

impl LinkSpec {
    /// A link of `kbps` kilobits per second each way, `rtt_ms` round trip, never dropping.
    pub fn new(kbps: u64, rtt_ms: u64) -> LinkSpec {
        LinkSpec {
            down_bps: kbps * 1000,
            up_bps: kbps * 1000,
            rtt: Duration::from_millis(rtt_ms),
            drop_every: None,
            cut_after_bytes: None,
        }
    }

    /// The same link, dropping every connection every `secs` seconds.
    pub fn dropping_every(mut self, secs: f64) -> LinkSpec {
        self.drop_every = Some(Duration::from_secs_f64(secs));
        self
    }
}

/// Bytes the link delivered, and the drops it made.
#[derive(Default)]
pub struct LinkCounters {
    /// Bytes delivered to the endpoint.
    pub up: AtomicU64,
    /// Bytes delivered to the device.
    pub down: AtomicU64,
    /// Connections cut while open.
    pub cuts: AtomicU64,
}

/// A running link emulator; stops accepting when dropped.
pub struct Link {
    pub addr: String,
    pub counters: Arc<LinkCounters>,
    stop: Arc<AtomicBool>,
    /// The drop interval in milliseconds, 0 for none (changed with [`Link::drop_every`]).
    drop_ms: Arc<AtomicU64>,
}

impl Link {
    /// Start a link to `target` (`host:port`) on a free loopback port.
    pub fn start(target: &str, spec: LinkSpec) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let counters = Arc::new(LinkCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        // The link's drops: a generation that moves at each drop; a connection opened in an
        // earlier generation is cut.
        let generation = Arc::new(AtomicU64::new(0));
        let drop_ms = Arc::new(AtomicU64::new(
            spec.drop_every.map(|d| d.as_millis() as u64).unwrap_or(0),
        ));
        {
            let (generation, stop, drop_ms) = (generation.clone(), stop.clone(), drop_ms.clone());
            thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(5));
                    let every = drop_ms.load(Ordering::Relaxed);
                    if every == 0 {
                        last = Instant::now();
                    } else if last.elapsed() >= Duration::from_millis(every) {
                        generation.fetch_add(1, Ordering::SeqCst);
                        last = Instant::now();
                    }
                }
            });
        }
        let (c, s, t) = (counters.clone(), stop.clone(), target.to_string());
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let (c, t, g) = (c.clone(), t.clone(), generation.clone());
                        thread::spawn(move || connection(client, &t, spec, c, g));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Link {
            addr,
            counters,
            stop,
            drop_ms,
        }
    }

    /// From now on, drop every connection at this interval (`None`: stop dropping).
    pub fn drop_every(&self, every: Option<Duration>) {
        self.drop_ms.store(
            every.map(|d| (d.as_millis() as u64).max(1)).unwrap_or(0),
            Ordering::Relaxed,
        );
    }

    /// The link's address as a device's endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes delivered to the device so far.
    pub fn down_bytes(&self) -> u64 {
        self.counters.down.load(Ordering::Relaxed)
    }

    /// Bytes delivered to the endpoint so far.
    pub fn up_bytes(&self) -> u64 {
        self.counters.up.load(Ordering::Relaxed)
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.counters.cuts.load(Ordering::Relaxed)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One connection: two delay lines, cut together.
fn connection(
    client: TcpStream,
    target: &str,
    spec: LinkSpec,
    counters: Arc<LinkCounters>,
    generation: Arc<AtomicU64>,
) {
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let born = generation.load(Ordering::SeqCst);
    let cut = Arc::new(AtomicBool::new(false));
    let moved = Arc::new(AtomicU64::new(0));
    let line = |from: &TcpStream, to: &TcpStream, bps: u64, delivered: &'static str| Line {
        from: from.try_clone().unwrap(),
        to: to.try_clone().unwrap(),
        bps,
        delay: spec.rtt / 2,
        cut_after: spec.cut_after_bytes,
        born,
        generation: generation.clone(),
        cut: cut.clone(),
        moved: moved.clone(),
        counters: counters.clone(),
        down: delivered == "down",
    };
    let up = line(&client, &server, spec.up_bps, "up");
    let down = line(&server, &client, spec.down_bps, "down");
    let a = thread::spawn(move || up.run());
    down.run();
    let _ = a.join();
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

struct Line {
    from: TcpStream,
    to: TcpStream,
    bps: u64,
    delay: Duration,
    cut_after: Option<u64>,
    born: u64,
    generation: Arc<AtomicU64>,
    cut: Arc<AtomicBool>,
    moved: Arc<AtomicU64>,
    counters: Arc<LinkCounters>,
    down: bool,
}

impl Line {
    fn dropped(&self) -> bool {
        self.cut.load(Ordering::SeqCst) || self.generation.load(Ordering::SeqCst) != self.born
    }

    /// Cut the whole connection (both lines, both sockets), once.
    fn cut_now(&self) {
        if !self.cut.swap(true, Ordering::SeqCst) {
            self.counters.cuts.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.from.shutdown(Shutdown::Both);
        let _ = self.to.shutdown(Shutdown::Both);
    }

    fn run(self) {
        // Chunks small enough that the bandwidth is smooth (about 20 ms of the link each).
        let chunk = ((self.bps / 8) / 50).clamp(512, 16 * 1024) as usize;
        let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
        let mut from = self.from.try_clone().unwrap();
        let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
        let reader_cut = self.cut.clone();
        let (generation, born) = (self.generation.clone(), self.born);
        let reader = thread::spawn(move || {
            let mut buf = vec![0u8; chunk];
            loop {
                if reader_cut.load(Ordering::SeqCst) || generation.load(Ordering::SeqCst) != born {
                    return;
                }
                match from.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        });
        let mut to = self.to.try_clone().unwrap();
        // When the line is free to send again (the bandwidth), whatever the delay.
        let mut free_at = Instant::now();
        loop {
            let (arrived, bytes) = match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(x) => x,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.dropped() {
                        self.cut_now();
                        break;
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if self.dropped() {
                        self.cut_now();
                    } else {
                        // The sender closed its side: pass the close on.
                        let _ = to.shutdown(Shutdown::Write);
                    }
                    break;
                }
            };
            let send_at = (arrived + self.delay).max(free_at);
            while Instant::now() < send_at {
                if self.dropped() {
                    break;
                }
                thread::sleep((send_at - Instant::now()).min(Duration::from_millis(10)));
            }
            if self.dropped() {
                self.cut_now();
                break;
            }
            let mut bytes = bytes;
            if let Some(limit) = self.cut_after {
                let before = self.moved.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                if before + bytes.len() as u64 > limit {
                    bytes.truncate(limit.saturating_sub(before) as usize);
                    let _ = to.write_all(&bytes);
                    self.count(bytes.len());
                    self.cut_now();
                    break;
                }
            }
            if to.write_all(&bytes).is_err() {
                self.cut_now();
                break;
            }
            self.count(bytes.len());
            let airtime = Duration::from_secs_f64(bytes.len() as f64 * 8.0 / self.bps as f64);
            free_at = Instant::now().max(send_at) + airtime;
        }
        let _ = reader.join();
    }

    fn count(&self, n: usize) {
        let c = if self.down {
            &self.counters.down
        } else {
            &self.counters.up
        };
        c.fetch_add(n as u64, Ordering::Relaxed);
    }
}
