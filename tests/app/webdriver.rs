//! A small W3C WebDriver client for driving the real `mrm-field` binary through WebKitWebDriver
//! under a virtual X display (docs/domain.md's recipe: no tauri-driver, `TAURI_WEBVIEW_AUTOMATION=true`,
//! `WEBKIT_DISABLE_COMPOSITING_MODE=1`, the app binary in `webkitgtk:browserOptions`).
//! All traffic stays on 127.0.0.1.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A virtual X display and WebKitWebDriver on it, each in its own process group (ended whole on
/// drop: the driver's group holds the app it launched).
pub struct DriverProcess {
    xvfb: Child,
    driver: Child,
    pub port: u16,
    /// The X display, e.g. `:99`, for screenshots with ImageMagick.
    pub display: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Screen size: the app's window (1280x820) fills it.
const SCREEN: &str = "1280x820x24";

impl DriverProcess {
    /// Start Xvfb and the driver; `env` is passed to the driver and so to the app it launches.
    pub fn start(env: &[(&str, &str)], log: &Path) -> DriverProcess {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).expect("driver log");
        // Xvfb picks a free display and writes its number to stdout.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                SCREEN,
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(out.try_clone().expect("log"))
            .process_group(0)
            .spawn()
            .expect("start Xvfb (run scripts/bootstrap.sh)");
        let mut line = String::new();
        std::io::BufReader::new(xvfb.stdout.take().expect("Xvfb stdout"))
            .read_line(&mut line)
            .expect("Xvfb display number");
        let display = format!(":{}", line.trim());
        assert!(
            display.len() > 1,
            "Xvfb did not start; see {}",
            log.display()
        );

        let port = free_port();
        let mut cmd = Command::new("WebKitWebDriver");
        cmd.arg(format!("--port={port}"))
            .env("DISPLAY", &display)
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd
            .spawn()
            .expect("start WebKitWebDriver (run scripts/bootstrap.sh)");
        let d = DriverProcess {
            xvfb,
            driver,
            port,
            display,
        };
        let http = client();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"].as_bool() == Some(true));
            if ready {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "WebKitWebDriver did not come up; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The driver's process id (the app runs as its child).
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// Save a PNG of the whole screen (WebDriver's own screenshot can take a minute here).
    pub fn screenshot(&self, path: &Path) {
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .status()
            .expect("ImageMagick import");
        assert!(status.success(), "import failed for {}", path.display());
    }
}

fn end_group(child: &mut Child) {
    let pgid = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").args(["-KILL", "--", &pgid]).status();
    let _ = child.wait();
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        end_group(&mut self.driver);
        end_group(&mut self.xvfb);
    }
}

fn client() -> reqwest::blocking::Client {
    // reqwest is built without a TLS provider of its own (plain HTTP here, but it wants one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .expect("http client")
}

/// One WebDriver session: one running app.
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
    id: String,
}

impl Session {
    /// Launch the app binary with arguments.
    pub fn start(port: u16, binary: &Path, args: &[&str]) -> Session {
        let http = client();
        let base = format!("http://127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {
            "binary": binary.to_str().expect("utf-8 path"),
            "args": args,
        }}}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .expect("new session")
            .json()
            .expect("session JSON");
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_string();
        Session { http, base, id }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.id, path);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let t0 = Instant::now();
        let v: Value = req
            .send()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .json()
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        if t0.elapsed() > Duration::from_secs(1) {
            eprintln!(
                "slow WebDriver call {path}: {:.1} s",
                t0.elapsed().as_secs_f64()
            );
        }
        v["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    /// Run JavaScript in the page; `arguments[i]` are `args`.
    pub fn js(&self, script: &str, args: Value) -> Value {
        let v = self.post("/execute/sync", json!({"script": script, "args": args}));
        if let Some(err) = v.get("error") {
            panic!("script failed: {err}: {}", v["message"]);
        }
        v
    }

    /// Wait until `script` returns something truthy; returns it.
    pub fn wait_js(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.js(script, args.clone());
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let body = self.js("return document.body.innerText.slice(0, 3000)", json!([]));
                panic!("timed out waiting for {what}; the page shows:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait for an element; returns its WebDriver id.
    pub fn wait(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.post("/element", json!({"using": "css selector", "value": css}));
            if let Some(id) = v.get(ELEMENT).and_then(Value::as_str) {
                return id.to_string();
            }
            if Instant::now() > deadline {
                let body = self.js("return document.body.innerText.slice(0, 3000)", json!([]));
                panic!("no element {css}; the page shows:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, css: &str) {
        let id = self.wait(css);
        let v = self.post(&format!("/element/{id}/click"), json!({}));
        assert!(v.get("error").is_none(), "click {css}: {v}");
    }

    /// Type into a field with real key events (appends to what is there).
    pub fn type_keys(&self, css: &str, text: &str) {
        let id = self.wait(css);
        let v = self.post(&format!("/element/{id}/value"), json!({"text": text}));
        assert!(v.get("error").is_none(), "type into {css}: {v}");
    }

    /// Replace a field's value as a paste would, firing the events the UI listens to.
    pub fn set(&self, css: &str, value: &str) {
        self.wait(css);
        self.js(
            "const el = document.querySelector(arguments[0]);
             el.focus();
             el.value = arguments[1];
             el.dispatchEvent(new Event('input', {bubbles: true}));
             el.dispatchEvent(new Event('change', {bubbles: true}));
             el.blur();",
            json!([css, value]),
        );
    }

    pub fn text(&self, css: &str) -> String {
        self.wait(css);
        self.js(
            "return document.querySelector(arguments[0]).innerText",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub fn attr(&self, css: &str, name: &str) -> String {
        self.wait(css);
        self.js(
            "return document.querySelector(arguments[0]).getAttribute(arguments[1]) || ''",
            json!([css, name]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Press keys on the focused element (e.g. "\u{E009}s" for Ctrl+S).
    pub fn keys_to(&self, css: &str, keys: &str) {
        self.type_keys(css, keys);
    }

    /// Close the app.
    pub fn close(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.id))
            .send();
    }
}
