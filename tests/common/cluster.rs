//! A relay cluster for tests: a private `redis-server`, `cotype relay --redis` nodes as
//! real processes (so `kill -9` and SIGTERM are real), HAProxy in front, all on free
//! loopback ports. Needs `process.rs` as `process`. A missing redis-server or haproxy
//! fails the test and says so (scripts/test installs them).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process;

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is not installed: the cluster tests need it (scripts/test installs it; or apt-get install {tool})"
    );
}

/// A private Redis on a free port, no persistence. Killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        require("redis-server");
        require("redis-cli");
        let mut redis = RedisServer {
            port: free_port(),
            child: None,
        };
        redis.restart();
        redis
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port, empty.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["ping"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Records every command Redis runs (`redis-cli MONITOR`) until `stop`.
    pub fn monitor(&self) -> Monitor {
        let file = tempfile::NamedTempFile::new().expect("a temp file");
        let child = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "MONITOR"])
            .stdout(file.reopen().expect("the temp file reopens"))
            .spawn()
            .expect("redis-cli starts");
        // MONITOR starts recording once its connection is in.
        std::thread::sleep(Duration::from_millis(300));
        Monitor { child, file }
    }

    pub fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `cotype relay --redis` process; its ports stay the same across restarts (HAProxy's
/// config names them).
pub struct Node {
    pub name: String,
    pub port: u16,
    pub metrics_port: u16,
    redis_url: String,
    /// More `cotype relay` arguments (limits), the same at every restart.
    extra: Vec<String>,
    pub process: Option<process::Running>,
}

impl Node {
    pub fn start(name: &str, redis: &RedisServer) -> Node {
        Node::start_with(name, redis, &[])
    }

    /// A node started with more `cotype relay` arguments.
    pub fn start_with(name: &str, redis: &RedisServer, extra: &[&str]) -> Node {
        let mut node = Node {
            name: name.to_string(),
            port: free_port(),
            metrics_port: free_port(),
            redis_url: redis.url(),
            extra: extra.iter().map(|a| a.to_string()).collect(),
            process: None,
        };
        // A port `free_port` found can be taken again before the node binds it (another
        // test, or an outgoing connection's local port); the node then exits ("cannot
        // listen"). CI saw a first start never become healthy once, most likely this (its
        // stderr was not kept). A first start may pick other ports; a restart keeps them.
        for _ in 0..3 {
            if node.try_start() {
                return node;
            }
            node.port = free_port();
            node.metrics_port = free_port();
        }
        node.restart();
        node
    }

    /// Starts the node; false if it exited before it was healthy.
    fn try_start(&mut self) -> bool {
        self.spawn();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.http("/healthz").0 != 200 {
            let exited = self.process.as_mut().is_some_and(|p| p.has_exited());
            if exited || Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn restart(&mut self) {
        self.spawn();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.http("/healthz").0 != 200 {
            assert!(Instant::now() < deadline, "node {} not healthy", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn(&mut self) {
        let mut command = process::cotype();
        command
            .env("COTYPE_LOG", "cotype=info")
            .arg("relay")
            .args(["--listen", &self.address().to_string()])
            .args(["--metrics", &format!("127.0.0.1:{}", self.metrics_port)])
            .args(["--redis", &self.redis_url, "--node-name", &self.name])
            .args(["--drain-timeout", "10"])
            .args(&self.extra);
        let mut running = process::Running::spawn(command);
        running.stderr_line_with("listening on");
        self.process = Some(running);
    }

    /// Status and body of a GET on the metrics port (0 when nothing answers).
    pub fn http(&self, path: &str) -> (u16, String) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.metrics_port)) else {
            return (0, String::new());
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// A metric's value (the first line starting with `name`), 0 if absent.
    pub fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.http("/metrics");
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn kill_nine(&mut self) {
        if let Some(process) = &self.process {
            process.signal(9);
        }
        if let Some(mut process) = self.process.take() {
            process.wait_exit(Duration::from_secs(10));
        }
    }

    pub fn running(&mut self) -> &mut process::Running {
        self.process.as_mut().expect("the node runs")
    }
}

/// HAProxy in TCP mode, round-robin, no stickiness, checking `/healthz` on each node's
/// metrics port. Killed on drop.
pub struct Haproxy {
    pub port: u16,
    child: Child,
    _config: tempfile::NamedTempFile,
    /// Its runtime API (`stats socket ... level admin`).
    admin: tempfile::TempPath,
}

impl Haproxy {
    pub fn start(nodes: &[&Node]) -> Haproxy {
        Haproxy::start_with_maxconn(nodes, 2000)
    }

    /// One that takes up to `maxconn` client connections. Each costs it two sockets, and
    /// it refuses to start when twice `maxconn` is over the open-file limit.
    pub fn start_with_maxconn(nodes: &[&Node], maxconn: usize) -> Haproxy {
        Haproxy::start_balancing(nodes, maxconn, "roundrobin")
    }

    /// One that sends every connection to the first node that is up (`balance first`).
    pub fn start_first(nodes: &[&Node]) -> Haproxy {
        Haproxy::start_balancing(nodes, 2000, "first")
    }

    /// Stops sending new connections to `node`, as an operator does before restarting it.
    pub fn disable(&self, node: &str) {
        use std::os::unix::net::UnixStream;
        let mut admin = UnixStream::connect(&self.admin).expect("haproxy's admin socket");
        writeln!(admin, "disable server relays/{node}").unwrap();
        let mut answer = String::new();
        let _ = admin.read_to_string(&mut answer);
        assert!(answer.trim().is_empty(), "haproxy: {answer}");
    }

    fn start_balancing(nodes: &[&Node], maxconn: usize, balance: &str) -> Haproxy {
        require("haproxy");
        let port = free_port();
        let admin = tempfile::NamedTempFile::new()
            .expect("a temp file")
            .into_temp_path();
        let _ = std::fs::remove_file(&admin);
        let admin_at = admin.to_string_lossy().into_owned();
        let mut config = format!(
            "global\n    maxconn {maxconn}\n    stats socket {admin_at} level admin\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 75s\n    timeout server 75s\n\
             frontend cotype\n    bind 127.0.0.1:{port}\n    default_backend relays\n\
             backend relays\n    balance {balance}\n    option httpchk\n    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host cotype\n    http-check expect status 200\n    default-server inter 300ms fall 1 rise 2\n"
        );
        for node in nodes {
            config.push_str(&format!(
                "    server {} 127.0.0.1:{} check port {}\n",
                node.name, node.port, node.metrics_port
            ));
        }
        let mut file = tempfile::NamedTempFile::new().expect("a temp file");
        file.write_all(config.as_bytes()).unwrap();
        let log = tempfile::NamedTempFile::new().expect("a temp file");
        let mut child = Command::new("haproxy")
            .arg("-f")
            .arg(file.path())
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("the temp file reopens"))
            .spawn()
            .expect("haproxy starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = child.try_wait().ok().flatten().is_some();
            assert!(
                Instant::now() < deadline && !exited,
                "haproxy did not listen: {}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the first health checks mark the nodes up.
        std::thread::sleep(Duration::from_secs(1));
        Haproxy {
            port,
            child,
            _config: file,
            admin,
        }
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `redis-cli MONITOR`.
pub struct Monitor {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl Monitor {
    /// Stops recording; everything Redis ran meanwhile, as MONITOR prints it.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        String::from_utf8_lossy(&std::fs::read(self.file.path()).unwrap_or_default()).into_owned()
    }
}
