//! README.md's install steps, run as written, under a temporary root: the `install` lines, the
//! operator's edit of the config, `check-config` and `poll-once` as root, and then, in place of
//! `systemctl enable --now`, the shipped unit's own `ExecStartPre=` and `ExecStart=` as the
//! unit's user. The emulation of the unit is what systemd does for it: `DynamicUser=yes` is an
//! unprivileged uid of the dynamic range with no groups (`setpriv`), `LoadCredential=ID:FILE` a
//! copy of FILE in a directory of that user named by `$CREDENTIALS_DIRECTORY`, and
//! `StateDirectory=` a directory of that user. Needs root, as CI runs, to change user.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::*;

/// A uid of systemd's `DynamicUser=` range (61184-65519) that no account has.
const UNIT_UID: u32 = 61_999;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// The shell lines of README.md's "Running it for real" block, comments cut off.
fn readme_steps() -> Vec<String> {
    let readme = std::fs::read_to_string(README).expect("README");
    let section = readme
        .split("## Running it for real")
        .nth(1)
        .expect("the README's install section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("its sh block");
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The value of `Key=` in the unit (the first line that sets it).
fn unit_setting(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit sets no {key}="))
        .to_string()
}

/// A path of the installed system, under the temporary root.
struct Root(PathBuf);

impl Root {
    /// `text` with every absolute path the install touches moved under the root.
    fn rebase(&self, text: &str) -> String {
        let r = self.0.display().to_string();
        text.replace(" /etc/", &format!(" {r}/etc/"))
            .replace(":/etc/", &format!(":{r}/etc/"))
            .replace("\"/etc/", &format!("\"{r}/etc/"))
            .replace(" /usr/local/bin/", &format!(" {r}/usr/local/bin/"))
            .replace(
                "\"/var/lib/bmc-catcher",
                &format!("\"{r}/var/lib/bmc-catcher"),
            )
            .replace("target/release/bmc-catcher", bin())
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.0.join(abs.trim_start_matches('/'))
    }
}

fn chown_r(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("ls") {
            chown_r(&e.expect("entry").path(), uid);
        }
    }
}

fn ok(what: &str, out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{what}: {:?}\n{err}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

/// A command of the unit (`ExecStartPre=`, `ExecStart=`) as the unit's user would run it, with
/// `$CREDENTIALS_DIRECTORY` when given.
fn as_unit_user(root: &Root, exec: &str, creds: Option<&Path>) -> Command {
    let line = root.rebase(&format!(" {exec}"));
    let mut argv = line.split_whitespace();
    let mut c = Command::new(which("setpriv"));
    c.args([
        format!("--reuid={UNIT_UID}"),
        format!("--regid={UNIT_UID}"),
        "--clear-groups".into(),
        "--".into(),
    ])
    .arg(argv.next().expect("a command"))
    .args(argv)
    .env_clear()
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .env("STATE_DIRECTORY", root.path("/var/lib/bmc-catcher"));
    if let Some(d) = creds {
        c.env("CREDENTIALS_DIRECTORY", d);
    }
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_install_runs_under_the_shipped_unit_as_its_user() {
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test changes user (setpriv): run it as root, as CI does"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One BMC that takes the example credentials (admin / change-me).
    let cancel = tokio_util::sync::CancellationToken::new();
    let fleet = bmc_sim::SimFleet::start(
        &bmc_sim::FleetSpec {
            count: 1,
            first_ip: unique_ip(),
            username: "admin".into(),
            password: "change-me".into(),
            ..Default::default()
        },
        cancel.clone(),
    )
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = Root(dir.path().to_path_buf());
    for d in ["/usr/local/bin", "/etc/systemd/system", "/var/lib/dhcp"] {
        std::fs::create_dir_all(root.path(d)).expect("mkdir");
    }
    std::fs::write(
        root.path("/var/lib/dhcp/dhcpd.leases"),
        fleet.leases_text(bmc_catcher::store::now_ms() / 1000),
    )
    .expect("leases");
    let repo = env!("CARGO_MANIFEST_DIR");
    let ip = unique_ip();
    let listen = std::net::SocketAddr::from((ip, free_port(ip)));

    // The README's steps, as root.
    let mut ran = Vec::new();
    for step in readme_steps() {
        let word = step.split_whitespace().next().unwrap_or("");
        match word {
            "cargo" => continue,     // the test's own build is installed instead
            "systemctl" => continue, // below: the unit's commands as its user
            "install" | "bmc-catcher" => {}
            _ => panic!("README's install has a step this test does not know: {step}"),
        }
        let mut line = root.rebase(&format!(" {step}"));
        if word == "bmc-catcher" {
            line = line.replacen(
                " bmc-catcher",
                &format!(" {}", root.path("/usr/local/bin/bmc-catcher").display()),
                1,
            );
        }
        let out = Command::new("sh")
            .args(["-c", line.trim()])
            .current_dir(repo)
            .output()
            .expect("sh");
        let err = ok(&step, &out);
        if step.contains("poll-once") {
            assert!(err.contains("1 BMCs: 1 read fully"), "{step}: {err}");
        }
        // "edit it": what an operator of this host changes in the installed config.
        if step.contains("config/bmc-catcher.toml") {
            let cfg = root.path("/etc/bmc-catcher/config.toml");
            let text = std::fs::read_to_string(&cfg).expect("config");
            let edited = root
                .rebase(&text)
                .replace(
                    "leases-file = \"/var/lib/dhcp/dhcpd.leases\"",
                    &format!(
                        "leases-file = \"{}\"",
                        root.path("/var/lib/dhcp/dhcpd.leases").display()
                    ),
                )
                .replace(
                    "listen = \"0.0.0.0:9742\"",
                    &format!("listen = \"{listen}\""),
                )
                .replace(
                    "[redfish]\nport = 443\n",
                    &format!("[redfish]\nport = {}\n", fleet.port()),
                )
                .replace("tls = \"verify\"", "tls = \"insecure\"");
            assert_ne!(edited, text);
            std::fs::write(&cfg, edited).expect("edit");
        }
        ran.push(step);
    }
    assert!(
        ran.iter().any(|s| s.contains("check-config"))
            && ran.iter().any(|s| s.contains("poll-once")),
        "{ran:?}"
    );

    // The unit, as systemd runs it.
    let unit = std::fs::read_to_string(root.path("/etc/systemd/system/bmc-catcher.service"))
        .expect("the unit was installed");
    assert!(unit.contains("\nDynamicUser=yes\n"));
    let (id, source) = unit_setting(&unit, "LoadCredential")
        .split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .expect("LoadCredential=ID:FILE");
    let state = root.path(&format!(
        "/var/lib/{}",
        unit_setting(&unit, "StateDirectory")
    ));
    std::fs::create_dir_all(&state).expect("state dir");
    chown_r(&state, UNIT_UID);
    let creds = root.path("/run/credentials/bmc-catcher.service");
    std::fs::create_dir_all(&creds).expect("credentials dir");
    std::fs::copy(root.path(&source), creds.join(&id)).expect("LoadCredential= copy");
    std::fs::set_permissions(creds.join(&id), std::fs::Permissions::from_mode(0o400))
        .expect("chmod");
    chown_r(&creds, UNIT_UID);
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o500)).expect("chmod");

    // Without the credential the unit's user cannot read the root-only file, and says so.
    let pre = unit_setting(&unit, "ExecStartPre");
    let out = as_unit_user(&root, &pre, None).output().expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("Permission denied")
            && err.contains(&format!("uid {UNIT_UID}"))
            && err.contains("mode 0600")
            && err.contains("LoadCredential=credentials:"),
        "{err}"
    );

    // ExecStartPre= passes, reading the credential without any configuration.
    let out = as_unit_user(&root, &pre, Some(&creds))
        .output()
        .expect("setpriv");
    let err = ok("ExecStartPre", &out);
    assert!(
        err.contains(&format!("credentials: {}", creds.join(&id).display())),
        "{err}"
    );

    // ExecStart= runs the daemon, which polls the BMC with those credentials, until SIGTERM.
    let start = unit_setting(&unit, "ExecStart");
    let mut daemon = tokio::process::Command::from(as_unit_user(&root, &start, Some(&creds)))
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("ExecStart");
    let mac = fleet.bmcs[0].bmc.mac.to_string();
    let url = format!("http://{listen}/api/v1/bmcs/{mac}");
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let up = match reqwest::get(&url).await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["snapshot"]["up"] == true),
            Err(_) => false,
        };
        if up {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the daemon never polled {mac}: {}",
            std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = reqwest::get(format!("http://{listen}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    signal(&daemon.id().expect("pid").to_string(), "-TERM");
    let exit = tokio::time::timeout(Duration::from_secs(30), daemon.wait())
        .await
        .expect("stops after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
    cancel.cancel();
}
