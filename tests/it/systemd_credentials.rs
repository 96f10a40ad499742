//! The credentials file under systemd: the shipped unit hands it over with
//! `LoadCredential=credentials:/etc/bmc-catcher/credentials.toml`, and bmc-catcher finds the copy
//! in `$CREDENTIALS_DIRECTORY` without any configuration, in place of `credentials-file` (which the
//! unit's dynamic user cannot read). `tests/peers/install.rs` runs the whole install as that user.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_credential_systemd_hands_over_is_found_without_configuration() {
    let bed = TestBed::new().start().await;
    let cfg = bed.config_path();
    // credentials-file names a file this process cannot read, as /etc's is to the unit's user.
    let unreadable = bed.dir.path().join("etc-only/credentials.toml");
    let text = std::fs::read_to_string(&cfg).expect("cfg").replace(
        &format!("{}/credentials.toml", bed.dir.path().display()),
        &unreadable.display().to_string(),
    );
    std::fs::write(&cfg, text).expect("cfg");
    // The copy systemd makes: $CREDENTIALS_DIRECTORY/credentials, mode 0400.
    let run_dir = bed.dir.path().join("credentials.d");
    std::fs::create_dir(&run_dir).expect("mkdir");
    let copy = run_dir.join("credentials");
    std::fs::copy(bed.dir.path().join("credentials.toml"), &copy).expect("copy");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o400)).expect("chmod");

    let run = move |args: &[&str], creds_dir: Option<&std::path::Path>| {
        let mut c = Command::new(bin());
        c.args(args).arg("--config").arg(&cfg);
        c.env_remove("CREDENTIALS_DIRECTORY");
        if let Some(d) = creds_dir {
            c.env("CREDENTIALS_DIRECTORY", d);
        }
        c.output().expect("run")
    };

    // Outside systemd: the configured file, which is not there.
    let out = run(&["check-config"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains(&unreadable.display().to_string()), "{err}");

    // Under systemd: the copy, found without configuration and named on stderr.
    let out = run(&["check-config"], Some(&run_dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "credentials: {} (handed over by systemd, LoadCredential=credentials:..., in place of credentials-file {})",
            copy.display(),
            unreadable.display()
        )),
        "{err}"
    );
    // ... and used: the BMC accepts the password it holds.
    let out = tokio::task::spawn_blocking(move || run(&["poll-once"], Some(&run_dir)))
        .await
        .expect("join");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("1 BMCs: 1 read fully"), "{err}");
}
