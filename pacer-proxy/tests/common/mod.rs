//! Shared helpers of the proxy's integration tests: a real Redis on
//! loopback (the one `PACER_REDIS_URL` names, as the test command sets
//! it, or a `redis-server` started here and stopped by its PID), and the
//! budget's settings.

#![allow(dead_code)]

use pacer_proxy::budget::BudgetConfig;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A Redis the tests can use.
pub struct Redis {
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    /// The port, to restart a server of our own on it.
    pub port: u16,
    child: Option<Child>,
}

/// The Redis of `PACER_REDIS_URL`, else one of our own.
pub fn redis() -> Redis {
    match std::env::var("PACER_REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let port = url
                .rsplit(':')
                .next()
                .and_then(|p| p.split('/').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(6379);
            Redis {
                url,
                port,
                child: None,
            }
        }
        _ => own_redis(),
    }
}

/// A `redis-server` of our own on a free loopback port; fails the test,
/// saying why, when the binary is missing (never a silent pass).
pub fn own_redis() -> Redis {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut redis = Redis {
        url: format!("redis://127.0.0.1:{port}"),
        port,
        child: None,
    };
    redis.start();
    redis
}

impl Redis {
    /// Starts our own server on our port (again, after [`Redis::stop`]).
    pub fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need a real Redis: set PACER_REDIS_URL (scripts/test.sh does), \
                     or install redis-server (apt-get install redis-server): {e}"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(self.port) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops our own server by its PID (a Redis of `PACER_REDIS_URL` is
    /// never ours to stop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether this server is ours to stop and restart.
    pub fn is_own(&self) -> bool {
        self.child.is_some()
    }

    /// Sends one inline command and returns the raw reply.
    pub fn command(&self, line: &str) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        conn.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    if conn.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(conn.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

/// A budget name no other test (or run) uses.
pub fn fresh_name(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "test-{what}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    )
}

/// A budget of `rate` per second in `redis`, named `name`.
pub fn budget(redis: &Redis, name: &str, rate: f64, burst: u32, max_wait_ms: u64) -> BudgetConfig {
    BudgetConfig {
        redis: redis.url.clone(),
        rate,
        burst,
        name: Some(name.to_string()),
        max_wait: Duration::from_millis(max_wait_ms),
    }
}
