//! The credentials file: the default username/password for the BMCs, overrides by MAC or by CIDR,
//! and the NATS user. Passwords are `SecretString`s; parse errors never quote the file's text.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

use super::ConfigError;
use crate::model::MacAddr;

/// One username/password pair.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub username: String,
    pub password: SecretString,
}

impl PartialEq for Credential {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.username == other.username
            && self.password.expose_secret() == other.password.expose_secret()
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credential {{ username: {:?}, password: [redacted] }}",
            self.username
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    #[serde(default)]
    mac: Option<MacAddr>,
    #[serde(default)]
    cidr: Option<IpNet>,
    username: String,
    password: SecretString,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    username: Option<String>,
    password: Option<SecretString>,
    #[serde(default, rename = "override")]
    overrides: Vec<Override>,
    /// `[nats] username/password`, when the NATS server wants them.
    #[serde(default)]
    nats: Option<Credential>,
}

/// Credentials for every BMC: a default pair plus overrides by MAC (first) or by CIDR (most specific).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    default: Option<Credential>,
    /// For the NATS connection (`[nats]` table of the credentials file).
    pub nats: Option<Credential>,
    by_mac: Vec<(MacAddr, Credential)>,
    by_cidr: Vec<(IpNet, Credential)>,
}

impl Credentials {
    /// Reads the credentials file; refuses one that group or others may read (chmod 600, or hand it
    /// over with systemd's `LoadCredential=`).
    pub fn load(file: &Path) -> Result<Credentials, ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let opened = super::file::open_regular(file, super::file::MAX_SIZE)
            .map_err(|e| systemd_hint(e.naming(file)))?;
        let meta = opened.metadata();
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                key: "credentials-file".into(),
                message: format!(
                    "mode {mode:04o} lets group or others read the BMC passwords; chmod 600 it"
                ),
            });
        }
        let text = opened.read_text().map_err(|e| e.naming(file))?;
        Credentials::parse(&text, file)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Credentials, ConfigError> {
        // toml's own error text quotes the offending line, which may hold a password.
        let raw: CredentialsFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: super::toml_error(text, &e),
        })?;
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.into(),
            message: message.into(),
        };
        let default = match (raw.username, raw.password) {
            (Some(username), Some(password)) => Some(Credential { username, password }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("password", "username given without password")),
            (None, Some(_)) => return Err(invalid("username", "password given without username")),
        };
        let mut creds = Credentials {
            default,
            nats: raw.nats,
            ..Default::default()
        };
        for (i, o) in raw.overrides.into_iter().enumerate() {
            let cred = Credential {
                username: o.username,
                password: o.password,
            };
            match (o.mac, o.cidr) {
                (Some(mac), None) => creds.by_mac.push((mac, cred)),
                (None, Some(net)) => creds.by_cidr.push((net, cred)),
                _ => {
                    return Err(invalid(
                        &format!("override[{i}]"),
                        "needs exactly one of `mac` or `cidr`",
                    ));
                }
            }
        }
        creds
            .by_cidr
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        Ok(creds)
    }

    /// A single default pair (demo, tests, `probe`).
    pub fn single(username: &str, password: &str) -> Credentials {
        Credentials {
            default: Some(Credential {
                username: username.into(),
                password: SecretString::from(password.to_string()),
            }),
            ..Default::default()
        }
    }

    pub fn for_target(&self, mac: MacAddr, ip: IpAddr) -> Option<&Credential> {
        self.by_mac
            .iter()
            .find(|(m, _)| *m == mac)
            .map(|(_, c)| c)
            .or_else(|| {
                self.by_cidr
                    .iter()
                    .find(|(net, _)| net.contains(&ip))
                    .map(|(_, c)| c)
            })
            .or(self.default.as_ref())
    }
}

/// A credentials file this process may not read gets the advice the shipped unit follows: systemd
/// hands the file over (`LoadCredential=credentials:FILE`) and it is found in
/// `$CREDENTIALS_DIRECTORY` without configuration.
fn systemd_hint(e: ConfigError) -> ConfigError {
    match e {
        ConfigError::Read {
            file,
            source,
            mut hint,
        } if source.kind() == std::io::ErrorKind::PermissionDenied
            && !std::env::var_os("CREDENTIALS_DIRECTORY").is_some_and(|d| file.starts_with(d)) =>
        {
            let name = super::SYSTEMD_CREDENTIAL;
            hint.push_str(&format!(
                "; the BMC passwords are for root only: under systemd the unit hands the file over \
                 with LoadCredential={name}:{} and bmc-catcher reads $CREDENTIALS_DIRECTORY/{name} \
                 without configuration",
                file.display()
            ));
            match std::env::var_os("CREDENTIALS_DIRECTORY") {
                Some(dir) => hint.push_str(&format!(
                    " ({} holds no `{name}`: the unit lacks that LoadCredential= line)",
                    Path::new(&dir).display()
                )),
                None => hint.push_str(" ($CREDENTIALS_DIRECTORY is not set: not run by such a unit); outside systemd run this as root"),
            }
            ConfigError::Read { file, source, hint }
        }
        e => e,
    }
}
