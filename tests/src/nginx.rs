//! nginx from Debian's package as the reverse proxy in front of several `mrm serve` instances,
//! the deployment shape of docs/operations.md: its own configuration, logs and temporary files
//! in a temporary folder, listening on a loopback port, stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::pg::is_root;

/// A running nginx balancing over `mrm serve` instances.
pub struct Nginx {
    dir: tempfile::TempDir,
    pub addr: String,
    child: Child,
}

/// The configuration for nginx in `dir`, listening on `listen`, balancing over `upstreams`
/// (`host:port` each). Written down here because docs/operations.md gives the same settings:
/// - `proxy_next_upstream … non_idempotent`: a push that reached an instance which died before
///   answering is sent to the next one. Safe because every push is idempotent (the endpoint
///   stores a change once, by hash; docs/sync-protocol.md), and it is what keeps a device's sync
///   going when an instance dies under it.
/// - `max_fails=1 fail_timeout=10s`: a dead instance is skipped for 10 s after one failure.
/// - `worker_connections 8192`: each device holds a connection to nginx and nginx one to an
///   instance, so a thousand devices at once need over 2,000 (`mrm-bench scale`).
/// - `client_max_body_size` at the endpoint's own limit, so the endpoint, not nginx, answers an
///   oversized push with its typed error.
/// - Nothing of a record written to nginx's disk: a push body is buffered in memory up to the
///   endpoint's limit (`client_body_buffer_size`, needed for the retry above), and a pull page
///   is passed on as it comes rather than spooled to a temporary file
///   (`proxy_max_temp_file_size 0`).
pub fn config(dir: &Path, listen: &str, upstreams: &[String]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|u| format!("        server {u} max_fails=1 fail_timeout=10s;\n"))
        .collect();
    let user = if is_root() { "user root;\n" } else { "" };
    let max_body = mrm_crdt::protocol::MAX_BODY;
    format!(
        "{user}daemon off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    client_body_buffer_size {max_body};
    proxy_max_temp_file_size 0;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream mrm {{
{servers}        hash $http_authorization consistent;
        keepalive 32;
    }}
    server {{
        listen {listen};
        client_max_body_size {max_body};
        location / {{
            proxy_pass http://mrm;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }}
    }}
}}
"
    )
}

impl Nginx {
    /// Start nginx in front of `upstreams` on a free loopback port; returns once it accepts
    /// connections. Panics with the way out when nginx is missing (scripts/bootstrap.sh).
    pub fn start(upstreams: &[String]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), &addr, upstreams)).unwrap();
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("nginx is missing: run scripts/bootstrap.sh (Debian's nginx package)");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx { dir, addr, child };
        let start = Instant::now();
        while TcpStream::connect(&nginx.addr).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited ({status}): {}", nginx.errors());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nginx did not start"
            );
            thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    /// The proxy's address, as devices use it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// nginx's error log so far (which upstreams failed, and why).
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT would wait for connections; the test is over, so SIGTERM (fast shutdown).
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
