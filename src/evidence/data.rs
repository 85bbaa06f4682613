//! The evidence rules' data tables (`src/evidence/data/*.csv`, embedded at build time).
//!
//! Every table row carries a one-line reason; the code holds no list of names. Tables:
//!
//! | file | what |
//! |---|---|
//! | `weights.csv` | every evidence weight (log-odds) with its strength and reason |
//! | `servicing_processes.csv` | processes that service Windows (image, optional command-line token, TrustedInstaller token) |
//! | `servicing_objects.csv` | objects servicing writes (normalised, volume-relative, lower-case prefixes) |
//! | `observers.csv` | drivers that only observe I/O, and the kernel (name patterns, Procmon's altitude): never suspects |
//! | `group_roles.csv` | whether a minifilter load order group's members deny by design |
//! | `targets.csv` | classes of targets (system, TrustedInstaller-owned, SYSTEM-only, user) by prefix |
//! | `accounts.csv` | classes of accounts (system, TrustedInstaller, limited service accounts) |

use std::collections::HashMap;
use std::sync::OnceLock;

const WEIGHTS_CSV: &str = include_str!("data/weights.csv");
const SERVICING_PROCESSES_CSV: &str = include_str!("data/servicing_processes.csv");
const SERVICING_OBJECTS_CSV: &str = include_str!("data/servicing_objects.csv");
const OBSERVERS_CSV: &str = include_str!("data/observers.csv");
const GROUP_ROLES_CSV: &str = include_str!("data/group_roles.csv");
const TARGETS_CSV: &str = include_str!("data/targets.csv");
const ACCOUNTS_CSV: &str = include_str!("data/accounts.csv");

fn records(text: &'static str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
        .map(|r| r.iter().map(|f| f.trim().to_string()).collect())
        .collect()
}

fn field(r: &[String], i: usize) -> String {
    r.get(i).cloned().unwrap_or_default()
}

/// How strong an evidence item is (DESIGN.md, "Evidence kinds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// The base rate every suspect starts from.
    Prior,
    /// Speaks against the driver (negative weight).
    Against,
    /// Narrows, never names on its own.
    Weak,
    /// Names a driver together with the prior when nothing speaks against it.
    Medium,
    /// Names a driver.
    Strong,
    /// Proves it.
    Decisive,
}

impl Strength {
    fn parse(s: &str) -> Strength {
        match s {
            "prior" => Strength::Prior,
            "against" => Strength::Against,
            "medium" => Strength::Medium,
            "strong" => Strength::Strong,
            "decisive" => Strength::Decisive,
            _ => Strength::Weak,
        }
    }

    /// Medium, strong or decisive: evidence that may name a driver.
    pub fn can_name(self) -> bool {
        self >= Strength::Medium
    }
}

/// One row of `weights.csv`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Weight {
    /// Key used by the evidence code, e.g. `nested_io`.
    pub key: String,
    /// Evidence kind the key belongs to.
    pub kind: String,
    /// Strength class.
    pub strength: Strength,
    /// Log-odds added to a suspect's score.
    pub weight: f64,
    /// One-line reason for the value.
    pub reason: String,
}

/// The whole weight table, in file order.
pub fn weights() -> &'static [Weight] {
    static T: OnceLock<Vec<Weight>> = OnceLock::new();
    T.get_or_init(|| {
        records(WEIGHTS_CSV)
            .into_iter()
            .map(|r| Weight {
                key: field(&r, 0),
                kind: field(&r, 1),
                strength: Strength::parse(&field(&r, 2)),
                weight: field(&r, 3).parse().unwrap_or(0.0),
                reason: field(&r, 4),
            })
            .collect()
    })
}

/// The weight row of `key`. Panics on a key the table lacks (a programming error caught by the
/// unit tests, which look every key up).
pub fn weight(key: &str) -> &'static Weight {
    weights()
        .iter()
        .find(|w| w.key == key)
        .unwrap_or_else(|| panic!("weights.csv has no key {key}"))
}

/// A servicing process row.
#[derive(Clone, Debug)]
pub struct ServicingProcess {
    /// Image file name, lower-case.
    pub image: String,
    /// Lower-case token the command line must contain (empty: any command line).
    pub command_line_contains: String,
    /// The process runs with the TrustedInstaller service SID in its token.
    pub trustedinstaller: bool,
    /// Why it is a servicing process.
    pub reason: String,
}

/// Servicing processes (`servicing_processes.csv`).
pub fn servicing_processes() -> &'static [ServicingProcess] {
    static T: OnceLock<Vec<ServicingProcess>> = OnceLock::new();
    T.get_or_init(|| {
        records(SERVICING_PROCESSES_CSV)
            .into_iter()
            .map(|r| ServicingProcess {
                image: field(&r, 0).to_lowercase(),
                command_line_contains: field(&r, 1).to_lowercase(),
                trustedinstaller: field(&r, 2) == "ti",
                reason: field(&r, 3),
            })
            .collect()
    })
}

/// The servicing-process row matching a process name and command line, if any.
pub fn servicing_process(name: &str, command_line: &str) -> Option<&'static ServicingProcess> {
    let name = name.to_lowercase();
    let cmd = command_line.to_lowercase();
    servicing_processes().iter().find(|p| {
        p.image == name
            && (p.command_line_contains.is_empty() || cmd.contains(&p.command_line_contains))
    })
}

/// A prefix-keyed row (`servicing_objects.csv`, `targets.csv`).
#[derive(Clone, Debug)]
pub struct PrefixRow {
    /// Normalised, volume-relative, lower-case prefix (`\windows\winsxs\`, `hklm\components`).
    pub prefix: String,
    /// Class (targets only; empty for servicing objects).
    pub class: String,
    /// Why.
    pub reason: String,
}

/// Servicing objects (`servicing_objects.csv`).
pub fn servicing_objects() -> &'static [PrefixRow] {
    static T: OnceLock<Vec<PrefixRow>> = OnceLock::new();
    T.get_or_init(|| {
        records(SERVICING_OBJECTS_CSV)
            .into_iter()
            .map(|r| PrefixRow {
                prefix: field(&r, 0).to_lowercase(),
                class: String::new(),
                reason: field(&r, 1),
            })
            .collect()
    })
}

/// Target classes (`targets.csv`).
pub fn targets() -> &'static [PrefixRow] {
    static T: OnceLock<Vec<PrefixRow>> = OnceLock::new();
    T.get_or_init(|| {
        records(TARGETS_CSV)
            .into_iter()
            .map(|r| PrefixRow {
                prefix: field(&r, 0).to_lowercase(),
                class: field(&r, 1),
                reason: field(&r, 2),
            })
            .collect()
    })
}

/// The row whose prefix is the longest one `key` (normalised, lower-case) starts with.
/// A prefix ending without `\` matches a whole path component only (`hklm\sam` matches
/// `hklm\sam` and `hklm\sam\x`, not `hklm\samples`).
pub fn longest_prefix<'a>(rows: &'a [PrefixRow], key: &str) -> Option<&'a PrefixRow> {
    rows.iter()
        .filter(|r| {
            key.starts_with(&r.prefix)
                && (r.prefix.ends_with('\\')
                    || key.len() == r.prefix.len()
                    || key[r.prefix.len()..].starts_with('\\'))
        })
        .max_by_key(|r| r.prefix.len())
}

/// An observer driver row (`observers.csv`).
#[derive(Clone, Debug)]
pub struct Observer {
    /// Lower-case file-name pattern (`*` matches any run of characters).
    pub pattern: String,
    /// Instance altitude when known (Procmon's).
    pub altitude: Option<String>,
    /// Why it never denies.
    pub reason: String,
}

/// Observer drivers (`observers.csv`).
pub fn observers() -> &'static [Observer] {
    static T: OnceLock<Vec<Observer>> = OnceLock::new();
    T.get_or_init(|| {
        records(OBSERVERS_CSV)
            .into_iter()
            .map(|r| Observer {
                pattern: field(&r, 0).to_lowercase(),
                altitude: Some(field(&r, 1)).filter(|s| !s.is_empty()),
                reason: field(&r, 2),
            })
            .collect()
    })
}

/// The observer row a driver file name matches, if any.
pub fn observer(driver: &str) -> Option<&'static Observer> {
    let d = driver.to_lowercase();
    observers().iter().find(|o| glob(&o.pattern, &d))
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (no other
/// wildcards). Both sides are compared as given (callers lower-case them).
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// What members of a load order group do with requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Members block I/O by design (anti-virus, DLP, lockdown).
    Deny,
    /// Members watch or copy I/O (monitors, backup).
    NoDeny,
    /// Neither.
    Neutral,
    /// No table knows the driver.
    Unknown,
}

/// The role of a load order group (`group_roles.csv`), with its reason; `Unknown` when the
/// table lacks the group.
pub fn group_role(group: &str) -> (Role, &'static str) {
    static T: OnceLock<HashMap<String, (Role, String)>> = OnceLock::new();
    let t = T.get_or_init(|| {
        records(GROUP_ROLES_CSV)
            .into_iter()
            .map(|r| {
                let role = match field(&r, 1).as_str() {
                    "deny" => Role::Deny,
                    "no_deny" => Role::NoDeny,
                    _ => Role::Neutral,
                };
                (field(&r, 0).to_lowercase(), (role, field(&r, 2)))
            })
            .collect()
    });
    t.get(&group.to_lowercase())
        .map(|(r, why)| (*r, why.as_str()))
        .unwrap_or((Role::Unknown, "load order group not in the table"))
}

/// An account class row (`accounts.csv`).
#[derive(Clone, Debug)]
pub struct AccountRow {
    /// Lower-case account name, SID or `domain\*` pattern.
    pub account: String,
    /// `system`, `trustedinstaller` or `service`.
    pub class: String,
    /// Why.
    pub reason: String,
}

/// The account-class row for a `DOMAIN\name` user text: the name part (or the whole text, for
/// SIDs) compared exactly, then `domain\*` patterns.
pub fn account(user: &str) -> Option<&'static AccountRow> {
    static T: OnceLock<Vec<AccountRow>> = OnceLock::new();
    let rows = T.get_or_init(|| {
        records(ACCOUNTS_CSV)
            .into_iter()
            .map(|r| AccountRow {
                account: field(&r, 0).to_lowercase(),
                class: field(&r, 1),
                reason: field(&r, 2),
            })
            .collect()
    });
    let full = user.trim().to_lowercase();
    let name = full.rsplit('\\').next().unwrap_or(&full).to_string();
    rows.iter()
        .filter(|r| !r.account.contains('*'))
        .find(|r| r.account == name || r.account == full)
        .or_else(|| rows.iter().find(|r| glob(&r.account, &full)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse() {
        assert!(weights().len() >= 15);
        for w in weights() {
            assert!(!w.reason.is_empty(), "{} has no reason", w.key);
            assert!(w.weight.is_finite());
        }
        assert!(weight("prior").weight < 0.0);
        assert_eq!(weight("acl_plausible").strength, Strength::Against);
        assert!(
            servicing_process("TiWorker.exe", "")
                .unwrap()
                .trustedinstaller
        );
        assert!(servicing_process(
            "svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv"
        )
        .is_some());
        assert!(servicing_process("svchost.exe", "svchost.exe -k LocalService").is_none());
        assert!(observer("PROCMON24.SYS").is_some());
        assert_eq!(
            observer("PROCMON23.SYS").unwrap().altitude.as_deref(),
            Some("385200")
        );
        assert!(observer("dump_dumpfve.sys").is_some());
        assert!(observer("krnlmgr.sys").is_none());
        assert_eq!(group_role("FSFilter Anti-Virus").0, Role::Deny);
        assert_eq!(group_role("FSFilter Activity Monitor").0, Role::NoDeny);
        assert_eq!(group_role("nonsense").0, Role::Unknown);
        assert_eq!(account("NT AUTHORITY\\SYSTEM").unwrap().class, "system");
        assert_eq!(
            account("NT SERVICE\\TrustedInstaller").unwrap().class,
            "trustedinstaller"
        );
        assert_eq!(account("NT SERVICE\\WSearch").unwrap().class, "service");
        assert_eq!(
            account("NT AUTHORITY\\NETWORK SERVICE").unwrap().class,
            "service"
        );
        assert!(account("DESKTOP-6PCIALL\\test").is_none());
        let t = targets();
        assert_eq!(
            longest_prefix(t, "hklm\\sam\\x").unwrap().class,
            "system_only"
        );
        assert_eq!(longest_prefix(t, "hklm\\samples").unwrap().class, "system");
        assert_eq!(
            longest_prefix(t, "\\windows\\system32\\config\\sam")
                .unwrap()
                .class,
            "system_only"
        );
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxc"));
    }
}
