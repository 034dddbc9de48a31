//! A throwaway PostgreSQL cluster for the endpoint's PostgreSQL tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

/// A throwaway PostgreSQL cluster from Debian's `postgresql` package (`scripts/bootstrap.sh`):
/// `initdb` into a temporary folder, the server on a unix socket there (no TCP, no system
/// service), run as `postgres` when the tests run as root (PostgreSQL refuses root). Stopped and
/// removed on drop.
pub struct PgCluster {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    pub socket: PathBuf,
    server: Child,
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Debian's PostgreSQL programs (`/usr/lib/postgresql/<version>/bin`), the newest there.
    fn bin() -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        found.retain(|b| b.join("initdb").is_file());
        found.sort();
        found.pop().expect(
            "PostgreSQL's server programs are missing: run scripts/bootstrap.sh (Debian's \
             postgresql package)",
        )
    }

    /// A PostgreSQL program (`pg_dump`, `pg_restore`, `psql`, …) from the cluster's version,
    /// as `postgres` when this runs as root; point it at [`PgCluster::socket`] with `-h`.
    pub fn program(&self, name: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
            c
        } else {
            Command::new(self.bin.join(name))
        }
    }

    /// Create the cluster and start its server; returns once it takes connections.
    pub fn start() -> PgCluster {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("socket");
        std::fs::create_dir_all(&socket).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown the cluster's folder");
        }
        let data = dir.path().join("data");
        let mut cluster = PgCluster {
            bin: PgCluster::bin(),
            socket,
            server: Command::new("true").spawn().unwrap(),
            _dir: dir,
        };
        let out = cluster
            .program("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "mrm", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = cluster.server.wait();
        cluster.server = cluster
            .program("postgres")
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&cluster.socket)
            .args(["-c", "listen_addresses=", "-c", "fsync=off"])
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The socket appears before the server takes connections ("starting up").
        let start = std::time::Instant::now();
        loop {
            let ready = cluster
                .program("pg_isready")
                .arg("-h")
                .arg(&cluster.socket)
                .args(["-U", "mrm", "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return cluster;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not start"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new empty database `name`; its address as `mrm serve --db` takes it.
    pub fn fresh(&self, name: &str) -> String {
        let out = self
            .program("createdb")
            .arg("-h")
            .arg(&self.socket)
            .args(["-U", "mrm", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://mrm@/{name}?host={}", self.socket.display())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // SIGTERM: a smart shutdown (runuser passes it on).
        let _ = Command::new("kill")
            .arg(self.server.id().to_string())
            .status();
        let _ = self.server.wait();
    }
}
