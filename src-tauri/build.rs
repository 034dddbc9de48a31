//! Tauri's build step. The UI is built by vite into ../ui/dist before this crate (see the
//! Makefile); when it has not been built yet (e.g. `cargo clippy` on a fresh clone) a placeholder
//! page is written there so the Rust build still succeeds.

use std::path::Path;

fn main() {
    let dist = Path::new("../ui/dist");
    if !dist.join("index.html").is_file() {
        let _ = std::fs::create_dir_all(dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=\"utf-8\"><title>MRM Field</title>\
             <p>The interface has not been built: run <code>make run</code>.</p>\n",
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
