//! The data centers of `support::netns` really behave like separate
//! machines on one network: each reaches the others and the root namespace,
//! a cut one is unreachable in both directions (connections time out rather
//! than fail fast, established ones hang and survive the heal), and nothing
//! is left behind by a dropped fabric or by a test process killed outright.
//!
//! Servers and clients inside the namespaces are small Python programs (the
//! machine's `python3`), started with `Dc::command`; the root namespace's
//! side is this test process — and the Slack emulator, listening on the
//! fabric's host address the way the cluster's chaos tests run it.

use crate::support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::netns::{Dc, Fabric};
use botyard::emulator::{Emulator, EmulatorConfig};

/// A server greeting each connection with its name, then echoing.
const SERVER: &str = r#"
import socket, sys, threading
name = sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], int(sys.argv[1])))
s.listen(64)
def serve(c):
    try:
        c.sendall((name + "\n").encode())
        while True:
            data = c.recv(4096)
            if not data:
                break
            c.sendall(data)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// Connects with a timeout and prints the greeting, or the error's type.
const CLIENT: &str = r#"
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(c.makefile().readline().strip())
except OSError as e:
    print(type(e).__name__)
    sys.exit(3)
"#;

const PORT: u16 = 7070;
/// How long a connection attempt to a cut data center is given.
const SHORT: Duration = Duration::from_millis(500);
const BOUND: Duration = Duration::from_secs(10);

/// Servers started in data centers, killed when the test ends however it ends.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_server(dc: &Dc, name: &str, bind: Ipv4Addr) -> Child {
    dc.command("python3")
        .args(["-c", SERVER, &PORT.to_string(), name, &bind.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 runs")
}

/// Connects from this process and reads the greeting line.
fn greeting(addr: SocketAddr, timeout: Duration) -> std::io::Result<String> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Waits until the server of `addr` answers from this process.
fn wait_for(addr: SocketAddr) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        match greeting(addr, Duration::from_millis(300)) {
            Ok(name) => return name,
            Err(e) if Instant::now() > deadline => panic!("{addr} never answered: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Connects from inside `dc`: the greeting, or the client's error name.
fn greeting_from(dc: &Dc, addr: Ipv4Addr, port: u16) -> Result<String, String> {
    let out = dc
        .command("python3")
        .args([
            "-c",
            CLIENT,
            &addr.to_string(),
            &port.to_string(),
            &SHORT.as_secs_f64().to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// A server in this (root) process on `addr`, greeting with `name`.
fn root_server(addr: Ipv4Addr, name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind((addr, 0)).expect("binding the root side");
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(format!("{name}\n").as_bytes());
        }
    });
    local
}

fn assert_times_out(result: std::io::Result<String>, what: &str) {
    match result {
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
            "{what}: a cut must drop packets (time out), not refuse: {e}"
        ),
        Ok(name) => panic!("{what}: reached {name} through a cut"),
    }
}

#[test]
fn data_centers_reach_each_other_until_one_is_cut_and_again_once_healed() {
    let fabric = Fabric::namespaces(2).expect("network namespaces (this runs as root)");
    assert!(fabric.isolated());
    let (dc0, dc1) = (fabric.dc(0), fabric.dc(1));
    assert_ne!(dc0.addr(), dc1.addr());

    // A command runs inside its data center: it sees its own address.
    let out = dc0
        .command("ip")
        .args(["-4", "-o", "addr", "show", "eth0"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("{}/24", dc0.addr())),
        "dc0's eth0: {shown}"
    );

    let _servers = Servers(vec![
        start_server(dc0, "dc0", Ipv4Addr::UNSPECIFIED),
        start_server(dc1, "dc1", Ipv4Addr::UNSPECIFIED),
    ]);
    let at = |dc: &Dc| SocketAddr::from((dc.addr(), PORT));
    assert_eq!(wait_for(at(dc0)), "dc0", "the root namespace reaches dc0");
    assert_eq!(wait_for(at(dc1)), "dc1", "and dc1, each its own server");
    assert_eq!(greeting_from(dc1, dc0.addr(), PORT).as_deref(), Ok("dc0"));
    assert_eq!(greeting_from(dc0, dc1.addr(), PORT).as_deref(), Ok("dc1"));
    let root = root_server(fabric.host_addr(), "root");
    assert_eq!(
        greeting_from(dc0, fabric.host_addr(), root.port()).as_deref(),
        Ok("root"),
        "a data center reaches a service of the root namespace on host_addr"
    );

    // A connection open before the cut, to see what a partition does to it.
    let mut established = TcpStream::connect_timeout(&at(dc0), BOUND).unwrap();
    established.set_read_timeout(Some(BOUND)).unwrap();
    let mut reader = BufReader::new(established.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "dc0");

    dc0.cut().unwrap();
    dc0.cut().unwrap(); // idempotent
    assert!(dc0.is_cut());
    let started = Instant::now();
    assert_times_out(greeting(at(dc0), SHORT), "root → cut dc0");
    assert!(started.elapsed() >= SHORT - Duration::from_millis(50));
    assert_eq!(
        greeting(at(dc1), SHORT).unwrap(),
        "dc1",
        "the other data center still answers"
    );
    assert_eq!(
        greeting_from(dc1, dc0.addr(), PORT),
        Err("TimeoutError".into()),
        "dc1 → cut dc0 times out"
    );
    assert_eq!(
        greeting_from(dc0, fabric.host_addr(), root.port()),
        Err("TimeoutError".into()),
        "cut dc0 → the root namespace times out too"
    );
    // The established connection hangs: no answer, and no reset either.
    established.write_all(b"ping\n").unwrap();
    established.set_read_timeout(Some(SHORT)).unwrap();
    let mut byte = [0u8; 1];
    match established.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("an established connection through a cut must hang: {other:?}"),
    }

    dc0.heal().unwrap();
    dc0.heal().unwrap();
    assert!(!dc0.is_cut());
    assert_eq!(greeting(at(dc0), BOUND).unwrap(), "dc0");
    assert_eq!(greeting_from(dc1, dc0.addr(), PORT).as_deref(), Ok("dc0"));
    // TCP's retransmission carries the held "ping" across once healed.
    established.set_read_timeout(Some(BOUND)).unwrap();
    line.clear();
    reader.get_mut().set_read_timeout(Some(BOUND)).unwrap();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ping", "the connection survives the partition");
}

/// `ip netns list` and whether the bridge is still there.
fn leftovers(names: &[String], bridge: &str) -> (Vec<String>, bool) {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    let namespaces = names
        .iter()
        .filter(|n| {
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(n))
        })
        .cloned()
        .collect();
    let bridge_there = Command::new("ip")
        .args(["link", "show", bridge])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    (namespaces, bridge_there)
}

const CHILD: &str = "BOTYARD_NETNS_TEST_CHILD";

#[test]
fn a_dropped_fabric_and_a_killed_test_leave_nothing_behind() {
    if std::env::var_os(CHILD).is_some() {
        // The child's part: make a fabric, say its names, wait to be killed.
        let fabric = Fabric::namespaces(2).unwrap();
        let names: Vec<&str> = fabric.dcs().iter().map(|d| d.netns().unwrap()).collect();
        println!("FABRIC {} {}", fabric.bridge().unwrap(), names.join(" "));
        std::io::stdout().flush().unwrap();
        std::thread::sleep(Duration::from_secs(60));
        unreachable!("killed by the parent before this");
    }

    // Dropped: the namespaces, veths and bridge go at once.
    let fabric = Fabric::namespaces(2).expect("network namespaces (this runs as root)");
    let names: Vec<String> = fabric
        .dcs()
        .iter()
        .map(|d| d.netns().unwrap().to_string())
        .collect();
    let bridge = fabric.bridge().unwrap().to_string();
    assert!(names[0].contains(&std::process::id().to_string()));
    assert!(bridge.len() <= 15, "interface names fit Linux's limit");
    assert_eq!(leftovers(&names, &bridge), (names.clone(), true));
    // A process still running in a data center does not keep it alive.
    let mut sleeper = fabric.dc(0).command("sleep").arg("30").spawn().unwrap();
    fabric.dc(0).cut().unwrap();
    drop(fabric);
    assert_eq!(leftovers(&names, &bridge), (vec![], false));
    let status = sleeper.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "a data center's processes die with it"
    );

    // Killed: a child test process makes a fabric and dies by SIGKILL; its
    // reaper cleans up after it.
    let mut child = support::rerun(
        module_path!(),
        "a_dropped_fabric_and_a_killed_test_leave_nothing_behind",
    )
    .env(CHILD, "1")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let announced = lines
        .find_map(|line| line.ok()?.strip_prefix("FABRIC ").map(str::to_string))
        .expect("the child announces its fabric");
    let mut words = announced.split_whitespace().map(str::to_string);
    let bridge = words.next().unwrap();
    let names: Vec<String> = words.collect();
    assert_eq!(names.len(), 2);
    assert_eq!(leftovers(&names, &bridge), (names.clone(), true));
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + BOUND;
    while leftovers(&names, &bridge) != (vec![], false) {
        assert!(
            Instant::now() < deadline,
            "the reaper removes a killed test's fabric: {:?} left",
            leftovers(&names, &bridge)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_loopback_fallback_gives_each_data_center_its_own_address() {
    let fabric = Fabric::loopback(2);
    assert!(!fabric.isolated());
    assert_eq!(fabric.fallback_reason(), Some("asked for"));
    let (dc0, dc1) = (fabric.dc(0), fabric.dc(1));
    assert!(dc0.addr().is_loopback() && fabric.host_addr().is_loopback());
    assert_ne!(
        dc0.addr(),
        Ipv4Addr::LOCALHOST,
        "not the address everyone uses"
    );
    assert!(dc0.netns().is_none());
    // Commands run here, directly.
    let out = dc0.command("echo").arg("here").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "here");

    let a0 = root_server(dc0.addr(), "dc0");
    let a1 = root_server(dc1.addr(), "dc1");
    assert_eq!(greeting(a0, BOUND).unwrap(), "dc0");
    assert_eq!(greeting(a1, BOUND).unwrap(), "dc1");

    // This runs as root, so iptables cuts the address.
    dc0.cut().expect("a loopback cut (iptables as root)");
    assert_times_out(greeting(a0, SHORT), "→ cut loopback dc0");
    assert_eq!(greeting(a1, SHORT).unwrap(), "dc1");
    dc0.heal().unwrap();
    assert_eq!(greeting(a0, BOUND).unwrap(), "dc0");

    // Dropped while cut, the fabric lifts its rules.
    dc1.cut().unwrap();
    drop(fabric);
    assert_eq!(greeting(a1, BOUND).unwrap(), "dc1");
}

/// Calls `auth.test` with a bot token: prints `ok`, or the error's type.
const AUTH_TEST: &str = r#"
import json, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1] + "auth.test", data=b"", headers={"Authorization": "Bearer " + sys.argv[2]})
try:
    print(json.load(urllib.request.urlopen(request, timeout=float(sys.argv[3])))["ok"])
except OSError as e:
    print(type(e).__name__)
    sys.exit(3)
"#;

#[tokio::test]
async fn the_emulator_on_the_host_address_serves_the_data_centers_until_one_is_cut() {
    let fabric = Fabric::namespaces(2).expect("network namespaces (this runs as root)");
    let slack = Emulator::start(EmulatorConfig {
        listen: fabric.host_addr().into(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    assert!(
        slack
            .base_url()
            .starts_with(&format!("http://{}:", fabric.host_addr())),
        "the URLs it hands out name the address it listens on: {}",
        slack.base_url()
    );
    let token = slack.config().bot_token.clone();
    let auth_test = |dc: &Dc| {
        let mut command = dc.command("python3");
        command.args([
            "-c",
            AUTH_TEST,
            &slack.base_url(),
            &token,
            &SHORT.as_secs_f64().to_string(),
        ]);
        async move {
            let out = tokio::process::Command::from(command)
                .stdin(Stdio::null())
                .output()
                .await
                .expect("python3 runs");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            )
        }
    };
    assert_eq!(auth_test(fabric.dc(0)).await, (true, "True".into()));
    assert_eq!(auth_test(fabric.dc(1)).await, (true, "True".into()));
    fabric.dc(1).cut().unwrap();
    assert!(
        !auth_test(fabric.dc(1)).await.0,
        "a cut data center loses Slack"
    );
    assert_eq!(auth_test(fabric.dc(0)).await, (true, "True".into()));
    let calls = slack.call_log();
    assert_eq!(calls.len(), 3, "the cut call never arrived: {calls:?}");
    assert!(calls.iter().all(|c| c.method == "auth.test" && c.ok));
}
