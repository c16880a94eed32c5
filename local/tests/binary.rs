//! The `nolose` binary itself: configuration errors stop it with one line,
//! and SIGTERM stops it gracefully.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nolose");

fn base_command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    cmd
}

#[test]
fn refuses_to_start_without_a_secret_key() {
    let out = base_command().output().expect("run nolose");
    assert_eq!(out.status.code(), Some(2), "exit code 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "configuration error: SECRET_KEY: is required but not set"
    );
}

#[test]
fn refuses_a_short_secret_key_and_an_invalid_port_naming_each() {
    let cases = [
        (vec![("SECRET_KEY", "too-short")], "SECRET_KEY"),
        (
            vec![
                ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
                ("PORT", "http"),
            ],
            "PORT",
        ),
    ];
    for (vars, name) in cases {
        let out = base_command()
            .envs(vars.clone())
            .output()
            .expect("run nolose");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {vars:?}");
        assert!(
            stderr.starts_with(&format!("configuration error: {name}: ")),
            "case {vars:?}: {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "one line, no backtrace: {stderr}"
        );
    }
}

#[test]
fn serves_and_stops_gracefully_on_sigterm() {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("nolose_t_bin_{}", std::process::id());
    let url = format!(
        "{}/{db}",
        admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = base_command()
        .env("SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .env("DATABASE_URL", &url)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn nolose");

    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        ready,
        "nolose listens on PORT (it creates its database first)"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "nolose did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let _ = Command::new("psql")
        .args([
            admin.as_str(),
            "-qc",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        ])
        .status();
}
