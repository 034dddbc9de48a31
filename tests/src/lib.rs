//! Helpers for end-to-end scenarios: a real `mrm serve` process, device stores driven through the
//! real `mrm` binary, and a loopback TCP proxy that can cut connections after N bytes.
//! All traffic stays on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

mod link;
mod nginx;
mod pg;
pub use link::{Link, LinkSpec};
pub use nginx::Nginx;
pub use pg::PgCluster;

/// The `mrm` binary built alongside these tests.
pub fn mrm_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test binary> -> target/<profile>/mrm
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("mrm");
    assert!(
        bin.is_file(),
        "{} is missing: build it first (`cargo build -p mrm-cli`)",
        bin.display()
    );
    // `cargo test -p mrm-e2e` does not rebuild another package's binary: refuse to test a stale one.
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for src in [
        "crdt/src",
        "page-crypto/src",
        "sync/src",
        "server/src",
        "cli/src",
        "export/src",
    ] {
        if let Some(newer) = newest(&root.join(src)).filter(|t| *t > built) {
            panic!(
                "{} is older than the sources ({newer:?}): run `cargo build -p mrm-cli` (make test does)",
                bin.display()
            );
        }
    }
    bin
}

/// The newest modification time of any file below `dir` (to refuse stale binaries).
pub fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let t = if p.is_dir() {
            newest(&p)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        best = best.max(t);
    }
    best
}

/// The passphrase of every device store in these scenarios.
pub const PASSPHRASE: &str = "e2e store passphrase";
/// The passphrase of the USB bundles the scenarios carry.
pub const BUNDLE_PASSPHRASE: &str = "e2e bundle passphrase";

/// Run `mrm` with arguments; returns the output whatever the exit status.
pub fn mrm(args: &[&str], stdin: Option<&str>) -> Output {
    mrm_env(args, stdin, &[])
}

/// [`mrm`] with more environment variables (a time zone, a wrong clock).
pub fn mrm_env(args: &[&str], stdin: Option<&str>, env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(mrm_bin());
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .env("MRM_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mrm");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("mrm output")
}

/// Run `mrm` and insist it succeeds; returns stdout.
pub fn mrm_ok(args: &[&str], stdin: Option<&str>) -> String {
    succeeded(args, mrm(args, stdin))
}

/// The stdout of a run of `mrm args` that must have succeeded.
fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "mrm {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The key file of the endpoint database at `db` (created with it on the first start).
pub fn key_file(db: &Path) -> PathBuf {
    db.with_extension("key")
}

/// `--db` and, for a SQLite file, its key file ([`key_file`]); a PostgreSQL URL has none.
fn db_args(db: &Path) -> Vec<String> {
    let mut args = vec!["--db".to_string(), db.display().to_string()];
    if !db.to_string_lossy().starts_with("postgres://") {
        args.extend([
            "--db-key-file".to_string(),
            key_file(db).display().to_string(),
        ]);
    }
    args
}

/// `mrm serve` on the database at `db` (a SQLite file with its key file, [`key_file`], or a
/// PostgreSQL URL) bound to `bind`.
pub fn serve_args(db: &Path, bind: &str) -> Vec<String> {
    let mut args = vec!["serve".to_string()];
    args.extend(db_args(db));
    args.extend(["--bind".to_string(), bind.to_string()]);
    args
}

/// A running `mrm serve` process on a loopback port; killed on drop.
pub struct Server {
    pub db: PathBuf,
    pub addr: String,
    /// Certificate and key (PEM) when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Further `mrm serve` options, kept across restarts.
    options: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// Start on a free port.
    pub fn start(db: &Path) -> Server {
        Server::start_on(db, "127.0.0.1:0")
    }

    /// Start on a given address (to restart on the same port).
    pub fn start_on(db: &Path, bind: &str) -> Server {
        Server::spawn(db, bind, None)
    }

    /// Start on a free port with further `mrm serve` options (limits, timeouts).
    pub fn start_with(db: &Path, options: &[&str]) -> Server {
        let mut s = Server::spawn_with(db, "127.0.0.1:0", None, options);
        s.options = options.iter().map(|o| o.to_string()).collect();
        s
    }

    /// The `mrm serve` process id (for its memory figures in /proc).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Start serving HTTPS with a certificate and key (PEM files).
    pub fn start_tls(db: &Path, bind: &str, cert: &Path, key: &Path) -> Server {
        Server::spawn(db, bind, Some((cert.to_path_buf(), key.to_path_buf())))
    }

    fn spawn(db: &Path, bind: &str, tls: Option<(PathBuf, PathBuf)>) -> Server {
        Server::spawn_with(db, bind, tls, &[])
    }

    fn spawn_with(
        db: &Path,
        bind: &str,
        tls: Option<(PathBuf, PathBuf)>,
        options: &[&str],
    ) -> Server {
        let scheme = if tls.is_some() { "https" } else { "http" };
        for _ in 0..50 {
            let mut args = serve_args(db, bind);
            args.extend(options.iter().map(|o| o.to_string()));
            if let Some((cert, key)) = &tls {
                args.extend(["--tls-cert".into(), cert.display().to_string()]);
                args.extend(["--tls-key".into(), key.display().to_string()]);
            }
            let mut child = Command::new(mrm_bin())
                .args(&args)
                .env("MRM_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn mrm serve");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let prefix = format!("mrm serve: listening on {scheme}://");
            if let Some(addr) = line.trim().strip_prefix(prefix.as_str()) {
                return Server {
                    db: db.to_path_buf(),
                    addr: addr.to_string(),
                    tls,
                    options: Vec::new(),
                    child: Some(child),
                };
            }
            // The port may still be held by the previous process for a moment.
            let _ = child.kill();
            let _ = child.wait();
            thread::sleep(Duration::from_millis(100));
        }
        panic!("mrm serve did not start on {bind}");
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Kill the process with SIGKILL (a crash, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kill and start again on the same port and database.
    pub fn restart(&mut self) {
        self.kill();
        let options: Vec<&str> = self.options.iter().map(String::as_str).collect();
        let again = Server::spawn_with(&self.db, &self.addr, self.tls.clone(), &options);
        self.child = again.child_take();
    }

    fn child_take(mut self) -> Option<Child> {
        self.child.take()
    }

    /// `mrm admin` against this server's database.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let db = db_args(&self.db);
        let mut all = vec!["admin"];
        all.extend(db.iter().map(String::as_str));
        all.extend_from_slice(args);
        mrm_ok(&all, stdin)
    }

    /// `mrm admin` with arguments, whatever its exit status.
    pub fn admin_out(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let db = db_args(&self.db);
        let mut all = vec!["admin"];
        all.extend(db.iter().map(String::as_str));
        all.extend_from_slice(args);
        mrm(&all, stdin)
    }

    /// Set the mission configuration (JSON) as an admin would.
    pub fn set_config(&self, json: &str) {
        self.admin(&["config", "set", "--json", "-"], Some(json));
    }

    /// Issue an enrollment token.
    pub fn token(&self, officer: &str, team: &str, role: &str) -> String {
        self.admin(
            &[
                "device",
                "enroll",
                "--officer",
                officer,
                "--team",
                team,
                "--role",
                role,
            ],
            None,
        )
        .trim()
        .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Which database an endpoint in a scenario runs on: the scenarios of sync, security and
/// containment run on both (issue 17: the same behaviour on each).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An endpoint database for one scenario: a SQLite file in `dir`, or a fresh database in a
/// throwaway PostgreSQL cluster that lives as long as this value.
pub struct EndpointDb {
    pub db: PathBuf,
    _cluster: Option<PgCluster>,
}

impl EndpointDb {
    pub fn new(backend: Backend, dir: &Path) -> EndpointDb {
        match backend {
            Backend::Sqlite => EndpointDb {
                db: dir.join("endpoint.db"),
                _cluster: None,
            },
            Backend::Postgres => {
                let cluster = PgCluster::start();
                EndpointDb {
                    db: PathBuf::from(cluster.fresh("mission")),
                    _cluster: Some(cluster),
                }
            }
        }
    }

    /// Start an `mrm serve` on it.
    pub fn serve(&self) -> Server {
        Server::start(&self.db)
    }
}

/// One `#[test]` per backend for each scenario `fn name(backend: Backend)`:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name($crate::Backend::Sqlite)
            })+
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name($crate::Backend::Postgres)
            })+
        }
    };
}

/// A device store in a folder, driven through the CLI.
pub struct Device {
    pub dir: PathBuf,
    pub name: String,
    /// Environment every `mrm` run of this device gets (`TZ`, `MRM_CLOCK_ERROR_SECS`).
    pub env: Vec<(String, String)>,
}

impl Device {
    /// Create a device store (not enrolled) for `name` of `team`.
    pub fn new(root: &Path, name: &str, team: &str) -> Device {
        let d = Device {
            dir: root.join(name),
            name: name.to_string(),
            env: Vec::new(),
        };
        d.mrm_ok(
            &[
                "init",
                "--mission",
                "MONUSCO",
                "--officer",
                name,
                "--team",
                team,
            ],
            None,
        );
        d
    }

    /// Create and enroll a device.
    pub fn enrolled(
        root: &Path,
        name: &str,
        team: &str,
        role: &str,
        server: &Server,
        url: &str,
    ) -> Device {
        let d = Device::new(root, name, team);
        let token = server.token(name, team, role);
        d.mrm_ok(&["enroll", "--server", url, "--token", &token], None);
        d
    }

    pub fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["--data", self.dir.to_str().unwrap()];
        v.extend_from_slice(rest);
        v
    }

    /// From now on, run this device's `mrm` with `key=value` in its environment.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    pub fn mrm(&self, rest: &[&str], stdin: Option<&str>) -> Output {
        mrm_env(&self.args(rest), stdin, &self.env)
    }

    /// Start `mrm` on this device in the background (to kill an endpoint under it): its
    /// passphrases and environment as [`Device::mrm`] gives them, stdout and stderr captured.
    pub fn spawn(&self, rest: &[&str]) -> Child {
        Command::new(mrm_bin())
            .args(self.args(rest))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("MRM_PASSPHRASE", PASSPHRASE)
            .env("MRM_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mrm")
    }

    pub fn mrm_ok(&self, rest: &[&str], stdin: Option<&str>) -> String {
        succeeded(&self.args(rest), self.mrm(rest, stdin))
    }

    /// Sync and return the JSON report.
    pub fn sync(&self) -> serde_json::Value {
        serde_json::from_str(&self.mrm_ok(&["sync", "--json"], None)).unwrap()
    }

    /// Open the store for inspection (only while no `mrm` process writes to it).
    pub fn store(&self) -> mrm_store::Store {
        mrm_store::Store::open(&self.dir, &mrm_crdt::crypto::Passphrase::new(PASSPHRASE)).unwrap()
    }

    /// Record an incident; returns its id.
    pub fn add_incident(&self, title: &str, kind: &str) -> String {
        let json = serde_json::json!({
            "title": title,
            "occurred_on": "2026-10-01",
            "reported_on": "2026-10-02",
            "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
            "narrative": format!("Fictional narrative of {title}."),
            "sources": [{"kind": "eyewitness", "consent": true}],
            "violations": [{"type": kind, "victims": {"boys": 1, "girls": 1, "sex_unknown": 0},
                            "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
        });
        self.mrm_ok(&["incident", "add", "--json", "-"], Some(&json.to_string()))
            .trim()
            .to_string()
    }

    /// What a modified client could do: write a change to record `doc_id` as this device's actor
    /// straight on the Automerge document, bypassing every check of the CLI and the store.
    /// Returns the change as pushed on the wire (record id, change bytes).
    pub fn forge(
        &self,
        doc_id: &str,
        edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) -> (String, Vec<u8>) {
        let store = self.store();
        let mut doc = automerge::Automerge::new();
        let changes = store
            .changes_missing_from(None)
            .unwrap()
            .into_iter()
            .filter(|(id, _)| id == doc_id)
            .map(|(_, b)| automerge::Change::from_bytes(b).unwrap());
        doc.apply_changes(changes).unwrap();
        doc.set_actor(automerge::ActorId::try_from(store.device().actor.as_str()).unwrap());
        let mut tx = doc.transaction();
        edit(&mut tx);
        tx.commit().0.expect("the forged edit changed nothing");
        let change = doc.get_last_local_change().unwrap();
        (doc_id.to_string(), change.raw_bytes().to_vec())
    }

    /// This device's credential, as sent in the Authorization header.
    pub fn credential(&self) -> String {
        let s = self.store().sync_state().unwrap().unwrap();
        format!("{}:{}", s.device_id, s.secret)
    }
}

/// What the proxy does to connections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    /// Cut every connection after this many bytes from client to server.
    CutUpstreamAfter(usize),
    /// Cut every connection after this many bytes from server to client.
    CutDownstreamAfter(usize),
}

/// A loopback TCP proxy in front of the server, for cutting connections mid-transfer.
pub struct Proxy {
    pub addr: String,
    fault: Arc<Mutex<Fault>>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicUsize>,
    /// Bytes relayed so far, both ways (to act in the middle of a sync).
    pub relayed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let fault = Arc::new(Mutex::new(Fault::None));
        let cuts = Arc::new(AtomicUsize::new(0));
        let relayed = Arc::new(AtomicUsize::new(0));
        let counted = relayed.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (f, c, s, target) = (
            fault.clone(),
            cuts.clone(),
            stop.clone(),
            target.to_string(),
        );
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let fault = *f.lock().unwrap();
                        let cuts = c.clone();
                        let target = target.clone();
                        let counted = counted.clone();
                        thread::spawn(move || relay(client, &target, fault, cuts, counted));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            addr,
            fault,
            cuts,
            relayed,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn relay(
    client: TcpStream,
    target: &str,
    fault: Fault,
    cuts: Arc<AtomicUsize>,
    relayed: Arc<AtomicUsize>,
) {
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let (up_limit, down_limit) = match fault {
        Fault::None => (usize::MAX, usize::MAX),
        Fault::CutUpstreamAfter(n) => (n, usize::MAX),
        Fault::CutDownstreamAfter(n) => (usize::MAX, n),
    };
    let relayed2 = relayed.clone();
    let pump = move |mut from: TcpStream,
                     mut to: TcpStream,
                     limit: usize,
                     cuts: Arc<AtomicUsize>,
                     relayed: Arc<AtomicUsize>| {
        let mut buf = [0u8; 8192];
        let mut sent = 0usize;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if sent + n > limit {
                let part = limit - sent;
                let _ = to.write_all(&buf[..part]);
                cuts.fetch_add(1, Ordering::Relaxed);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            relayed.fetch_add(n, Ordering::Relaxed);
            sent += n;
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let cuts2 = cuts.clone();
    let up = thread::spawn(move || pump(c2, s2, up_limit, cuts2, relayed2));
    pump(server, client, down_limit, cuts, relayed);
    let _ = up.join();
}
