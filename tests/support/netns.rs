//! Data centers on one machine, for the chaos tests of a botyard cluster.
//!
//! A [`Fabric`] of N data centers is N Linux network namespaces, each with a
//! veth pair whose other end is a port of one bridge in the root namespace:
//!
//! ```text
//!   root namespace: bridge by<pid>-<k>b  10.A.B.1/24   (emulator, PostgreSQL listen here)
//!        │ port by<pid>-<k>v0   │ port by<pid>-<k>v1   …
//!   ns by<pid>-<k>-dc0           ns by<pid>-<k>-dc1
//!     eth0 10.A.B.2/24, lo         eth0 10.A.B.3/24, lo      (one replica each)
//! ```
//!
//! Every data center reaches every other one and the root namespace (its
//! default route is the bridge's address; the root namespace does not
//! forward, so nothing reaches past the machine). A process in a data center
//! is started with [`Dc::command`]; a service in the root namespace listens
//! on [`Fabric::host_addr`] (or on all addresses) to be reachable from all.
//!
//! **Names and addresses are unique per test process and per fabric**, so
//! test binaries running side by side never collide: names carry the pid and
//! a per-process fabric counter `k` (interface names stay within Linux's 15
//! characters); the /24 is `10.A.B.0/24` with `A = 200 + s / 250` and
//! `B = s % 250` for `s = (pid + k) % 12500`, moving on to the next /24 when
//! an interface on the machine already has an address in it.
//!
//! **Faults.** [`Dc::cut`] partitions a data center the way a real network
//! partition looks: iptables DROP rules inside its namespace for everything
//! in and out of its `eth0`, so packets vanish. Connection attempts time out
//! and established TCP connections hang (they are not reset, as they would
//! be with REJECT, and the link stays up, as a real partition's far side
//! does). Its own loopback keeps working. [`Dc::heal`] removes the rules.
//! iptables is installed from Debian on first use, as other tests install
//! their tools (`support::install_once`).
//!
//! **Cleanup.** Dropping the fabric kills whatever still runs in its
//! namespaces (processes started there by the test) and deletes the
//! namespaces, veths and the bridge. A test process killed outright (kill -9,
//! a test-runner timeout) cannot drop anything, so each fabric also starts a
//! reaper: a detached `sh` in its own process group that polls the test
//! process and does the same cleanup once it is gone.
//!
//! **Fallback.** Where namespaces cannot be made (not root, no `ip`, no
//! permission), [`Fabric::new`] says why on stderr and returns a loopback
//! fabric instead: data center `i` is the address `127.A.B.(i+2)` (the host
//! `127.A.B.1`, unique per process and fabric like the /24 above), commands
//! run directly, and a process of a data center must bind to [`Dc::addr`]
//! itself. A cut is then iptables DROP on that loopback address (to it, and
//! from it), which needs root; without it `cut` returns an error. It cannot
//! cut a connection a data center's process opens from another source
//! address, so only the namespace fabric models a partition faithfully
//! ([`Fabric::isolated`] tells which one a test got).

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// What went wrong setting up or changing a fabric.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("cutting a data center off needs iptables and root: {0}")]
    CutUnsupported(String),
    #[error("every 10.200-249.x.0/24 already has an address on this machine")]
    NoSubnet,
}

/// Fabrics made by this process so far: part of every name and subnet.
static FABRICS: AtomicU32 = AtomicU32::new(0);

/// Data centers per fabric at most: with a 7-digit pid and a 2-digit
/// fabric number, `by<pid>-<k>v<i>` stays within 15 characters for i < 100.
pub const MAX_DCS: usize = 100;

/// N data centers and the root namespace between them. See the module docs.
pub struct Fabric {
    dcs: Vec<Dc>,
    host_addr: Ipv4Addr,
    /// The bridge, when this fabric is made of namespaces.
    bridge: Option<String>,
    /// Why this is a loopback fabric, when it is one.
    fallback: Option<String>,
    reaper: Option<Child>,
}

/// One data center: a network namespace (or, in the fallback, a loopback
/// address) that can be cut off and healed.
pub struct Dc {
    index: usize,
    addr: Ipv4Addr,
    /// The namespace, or `None` in a loopback fabric.
    netns: Option<String>,
    /// The root-side end of its veth pair.
    veth: Option<String>,
    cut: Mutex<bool>,
}

impl Fabric {
    /// N data centers in network namespaces, or on loopback addresses when
    /// namespaces cannot be made here (see the module docs; the reason is
    /// printed on stderr).
    pub fn new(n: usize) -> Fabric {
        match Fabric::namespaces(n) {
            Ok(fabric) => fabric,
            Err(e) => {
                let reason = e.to_string();
                eprintln!(
                    "netns: cannot make network namespaces ({reason}); falling back to \
                     loopback addresses: no isolation, and cuts only where iptables runs"
                );
                Fabric::loopback_because(n, reason)
            }
        }
    }

    /// N data centers in network namespaces, or why they cannot be made.
    pub fn namespaces(n: usize) -> Result<Fabric, NetnsError> {
        assert!(
            (1..=MAX_DCS).contains(&n),
            "a fabric has 1 to {MAX_DCS} data centers"
        );
        let pid = std::process::id();
        let k = FABRICS.fetch_add(1, Ordering::Relaxed);
        // k stays short so interface names fit in 15 characters.
        let tag = format!("by{pid}-{}", k % 100);
        let (a, b) = free_subnet(pid.wrapping_add(k))?;
        let bridge = format!("{tag}b");
        let host_addr = Ipv4Addr::new(10, a, b, 1);
        let dcs: Vec<Dc> = (0..n)
            .map(|i| Dc {
                index: i,
                addr: Ipv4Addr::new(10, a, b, i as u8 + 2),
                netns: Some(format!("{tag}-dc{i}")),
                veth: Some(format!("{tag}v{i}")),
                cut: Mutex::new(false),
            })
            .collect();
        let mut fabric = Fabric {
            dcs,
            host_addr,
            bridge: Some(bridge.clone()),
            fallback: None,
            reaper: None,
        };
        // The reaper first, so even a half-built fabric is cleaned up if
        // this process dies while building it.
        fabric.reaper = super::spawn_reaper(&fabric.cleanup_script(), "its fabric");
        run("ip", &["link", "add", &bridge, "type", "bridge"])?;
        run(
            "ip",
            &["addr", "add", &format!("{host_addr}/24"), "dev", &bridge],
        )?;
        run("ip", &["link", "set", &bridge, "up"])?;
        for dc in &fabric.dcs {
            let ns = dc.netns.as_deref().expect("a namespace fabric");
            let veth = dc.veth.as_deref().expect("a namespace fabric");
            run("ip", &["netns", "add", ns])?;
            // The peer is made inside the namespace, so it can be `eth0`.
            run(
                "ip",
                &[
                    "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
                ],
            )?;
            run("ip", &["link", "set", veth, "master", &bridge])?;
            run("ip", &["link", "set", veth, "up"])?;
            let addr = format!("{}/24", dc.addr);
            let gateway = host_addr.to_string();
            for args in [
                &["addr", "add", &addr, "dev", "eth0"][..],
                &["link", "set", "eth0", "up"],
                &["link", "set", "lo", "up"],
                &["route", "add", "default", "via", &gateway],
            ] {
                run("ip", &[&["-n", ns][..], args].concat())?;
            }
        }
        Ok(fabric)
    }

    /// N data centers on loopback addresses, even where namespaces work:
    /// for tests of the fallback itself.
    pub fn loopback(n: usize) -> Fabric {
        Fabric::loopback_because(n, "asked for".into())
    }

    fn loopback_because(n: usize, reason: String) -> Fabric {
        assert!(
            (1..=MAX_DCS).contains(&n),
            "a fabric has 1 to {MAX_DCS} data centers"
        );
        let pid = std::process::id();
        let k = FABRICS.fetch_add(1, Ordering::Relaxed);
        let s = pid.wrapping_add(k) % 62_500;
        let (a, b) = (1 + (s / 250) as u8 % 250, (s % 250) as u8);
        let dcs = (0..n)
            .map(|i| Dc {
                index: i,
                addr: Ipv4Addr::new(127, a, b, i as u8 + 2),
                netns: None,
                veth: None,
                cut: Mutex::new(false),
            })
            .collect();
        let mut fabric = Fabric {
            dcs,
            host_addr: Ipv4Addr::new(127, a, b, 1),
            bridge: None,
            fallback: Some(reason),
            reaper: None,
        };
        // Only cuts leave something behind here; the reaper lifts them.
        fabric.reaper = super::spawn_reaper(&fabric.cleanup_script(), "its fabric");
        fabric
    }

    pub fn dcs(&self) -> &[Dc] {
        &self.dcs
    }

    pub fn dc(&self, i: usize) -> &Dc {
        &self.dcs[i]
    }

    /// The root namespace's address on the fabric (the bridge's): where the
    /// emulator and PostgreSQL listen to be reachable from every data center.
    pub fn host_addr(&self) -> Ipv4Addr {
        self.host_addr
    }

    /// Whether the data centers are real namespaces (true) or the loopback
    /// fallback (false).
    pub fn isolated(&self) -> bool {
        self.fallback.is_none()
    }

    /// Why this is a loopback fabric, when it is one.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The bridge's name, for a namespace fabric.
    pub fn bridge(&self) -> Option<&str> {
        self.bridge.as_deref()
    }

    /// A shell script that undoes everything this fabric made: kills what
    /// runs in its namespaces, deletes them, the veths and the bridge, and
    /// lifts loopback cuts. Each step may find its object already gone.
    fn cleanup_script(&self) -> String {
        let mut script = String::new();
        for dc in &self.dcs {
            match (&dc.netns, &dc.veth) {
                (Some(ns), Some(veth)) => script.push_str(&format!(
                    "for p in $(ip netns pids {ns} 2>/dev/null); do kill -9 $p; done; \
                     ip netns del {ns}; ip link del {veth}; "
                )),
                _ => {
                    for rule in dc.loopback_rules() {
                        script.push_str(&format!(
                            "while iptables -w 10 -D {} 2>/dev/null; do :; done; ",
                            rule.join(" ")
                        ));
                    }
                }
            }
        }
        if let Some(bridge) = &self.bridge {
            script.push_str(&format!("ip link del {bridge}; "));
        }
        script.push_str("true");
        script
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        let script = self.cleanup_script();
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Our own child: nothing is left for it to do.
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
    }
}

impl Dc {
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its address on the fabric: where its processes listen, and what the
    /// others connect to.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Its namespace's name (`ip netns exec <name> …`), or `None` on loopback.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// A command that runs `program` inside this data center (`ip netns
    /// exec`, which execs it: the child's pid is the program's). Add the
    /// program's arguments to it; `tokio::process::Command::from` makes it
    /// async. On loopback it runs `program` directly.
    pub fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns, program]);
                command
            }
            None => Command::new(program),
        }
    }

    /// Cuts this data center off: nothing gets in or out (packets are
    /// dropped, so connections hang rather than fail fast). Idempotent.
    pub fn cut(&self) -> Result<(), NetnsError> {
        let mut cut = self.cut.lock().unwrap_or_else(|e| e.into_inner());
        if *cut {
            return Ok(());
        }
        self.iptables("-I")?;
        *cut = true;
        Ok(())
    }

    /// Undoes [`Dc::cut`]. Idempotent.
    pub fn heal(&self) -> Result<(), NetnsError> {
        let mut cut = self.cut.lock().unwrap_or_else(|e| e.into_inner());
        if !*cut {
            return Ok(());
        }
        self.iptables("-D")?;
        *cut = false;
        Ok(())
    }

    pub fn is_cut(&self) -> bool {
        *self.cut.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (`-I`) or deletes (`-D`) the DROP rules of a cut.
    fn iptables(&self, action: &str) -> Result<(), NetnsError> {
        ensure_iptables()?;
        match &self.netns {
            Some(ns) => {
                for rule in [
                    ["INPUT", "-i", "eth0", "-j", "DROP"],
                    ["OUTPUT", "-o", "eth0", "-j", "DROP"],
                ] {
                    let args = [
                        &["netns", "exec", ns, "iptables", "-w", "10", action][..],
                        &rule,
                    ]
                    .concat();
                    run("ip", &args)?;
                }
            }
            None => {
                for rule in self.loopback_rules() {
                    let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
                    run("iptables", &[&["-w", "10", action][..], &rule].concat())?;
                }
            }
        }
        Ok(())
    }

    /// A loopback cut's rules: packets to the address, and replies from it.
    fn loopback_rules(&self) -> [Vec<String>; 2] {
        let addr = self.addr.to_string();
        let rule = |chain: &str, flag: &str| {
            [chain, flag, &addr, "-j", "DROP"]
                .map(str::to_string)
                .to_vec()
        };
        [rule("INPUT", "-d"), rule("OUTPUT", "-s")]
    }
}

/// Runs a setup command; its stderr becomes the error.
fn run(program: &str, args: &[&str]) -> Result<(), NetnsError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NetnsError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(NetnsError::Failed {
        command,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// The first /24 at or after this process's own (see the module docs) that
/// no interface on the machine has an address in.
fn free_subnet(seed: u32) -> Result<(u8, u8), NetnsError> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NetnsError::Spawn {
            command: "ip -4 -o addr show".into(),
            source,
        })?;
    let taken = String::from_utf8_lossy(&out.stdout).to_string();
    let start = seed % 12_500;
    (0..12_500)
        .map(|step| (start + step) % 12_500)
        .map(|s| (200 + (s / 250) as u8, (s % 250) as u8))
        .find(|(a, b)| !taken.contains(&format!(" 10.{a}.{b}.")))
        .ok_or(NetnsError::NoSubnet)
}

/// Installs iptables on first use where it is missing and this is root;
/// else says why a cut cannot be made.
fn ensure_iptables() -> Result<(), NetnsError> {
    let found = || {
        ["/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(str::to_string)
    };
    if found().is_some() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !root {
        return Err(NetnsError::CutUnsupported(
            "iptables is not installed and this is not root".into(),
        ));
    }
    super::install_once("iptables", found);
    Ok(())
}
