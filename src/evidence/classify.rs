//! Heuristics over one denial: which object, which actor, servicing relevance, and whether an
//! ordinary ACL explains it (`acl_plausible`). A PML holds no ACLs, so `acl_plausible` is judged
//! from the class of the actor (account, integrity level, TrustedInstaller token) and the class
//! of the target (system-owned, TrustedInstaller-owned, SYSTEM-only, user-writable), never from
//! a list of particular keys or files.

use super::data;

/// Object names as the joins compare them (DESIGN.md, "Naming the same object across sources").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectName {
    /// Display form: `HKLM\...` for registry keys (`ControlSet00N` shown as `CurrentControlSet`),
    /// file paths as Procmon printed them without a `\\?\` / `\??\` prefix.
    pub display: String,
    /// Lower-case, volume-relative form used for matching: `hklm\system\currentcontrolset\...`,
    /// `\windows\system32\...` (drive letter or `\Device\HarddiskVolumeN` removed).
    pub key: String,
    /// Registry (true) or file/other (false).
    pub registry: bool,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()))
        .then(|| s.split_at(prefix.len()))
        .filter(|(head, _)| head.eq_ignore_ascii_case(prefix))
        .map(|(_, tail)| tail)
}

/// Replace `ControlSet00N` (N a digit run) by `CurrentControlSet` in a registry path.
fn current_control_set(path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let Some(i) = lower.find("\\controlset") else {
        return path.to_string();
    };
    let after = &path[i + "\\controlset".len()..];
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &after[digits..];
    if digits == 0 || !(rest.is_empty() || rest.starts_with('\\')) {
        return path.to_string();
    }
    format!("{}\\CurrentControlSet{}", &path[..i], rest)
}

/// Normalise a Procmon path (registry or file) into an [`ObjectName`].
pub fn object_name(path: &str) -> ObjectName {
    const HIVES: [(&str, &str); 9] = [
        ("\\REGISTRY\\MACHINE", "HKLM"),
        ("\\REGISTRY\\USER", "HKU"),
        ("HKEY_LOCAL_MACHINE", "HKLM"),
        ("HKEY_CURRENT_USER", "HKCU"),
        ("HKEY_USERS", "HKU"),
        ("HKEY_CLASSES_ROOT", "HKCR"),
        ("HKEY_CURRENT_CONFIG", "HKCC"),
        ("\\REGISTRY\\A", "HKA"),
        ("\\REGISTRY\\WC", "HKWC"),
    ];
    for (long, short) in HIVES {
        if let Some(rest) = strip_prefix_ci(path, long) {
            if rest.is_empty() || rest.starts_with('\\') {
                return registry_name(&format!("{short}{rest}"));
            }
        }
    }
    for short in ["HKLM", "HKCU", "HKU", "HKCR", "HKCC"] {
        if let Some(rest) = strip_prefix_ci(path, short) {
            if rest.is_empty() || rest.starts_with('\\') {
                return registry_name(&format!("{short}{rest}"));
            }
        }
    }
    let mut display = path;
    for p in ["\\\\?\\", "\\??\\"] {
        if let Some(rest) = strip_prefix_ci(display, p) {
            display = rest;
        }
    }
    let lower = display.to_lowercase();
    let key = volume_relative(&lower);
    ObjectName {
        display: display.to_string(),
        key,
        registry: false,
    }
}

fn registry_name(p: &str) -> ObjectName {
    let display = current_control_set(p);
    let key = display.to_lowercase();
    ObjectName {
        display,
        key,
        registry: true,
    }
}

/// `c:\windows\x` -> `\windows\x`; `\device\harddiskvolume2\windows\x` -> `\windows\x`; other
/// paths (pipes, UNC, devices) unchanged.
fn volume_relative(lower: &str) -> String {
    let b = lower.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return lower[2..].to_string();
    }
    if let Some(rest) = lower.strip_prefix("\\device\\harddiskvolume") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            return rest[digits..].to_string();
        }
    }
    lower.to_string()
}

/// Class of the target of a denial (`targets.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetClass {
    /// Owned by SYSTEM / Administrators; users read at most.
    System,
    /// Owned by TrustedInstaller: SYSTEM and Administrators read, only TrustedInstaller writes.
    TiOwned,
    /// Accessible to SYSTEM only.
    SystemOnly,
    /// The acting user's own profile or hive.
    OwnUser,
    /// Another user's profile or hive.
    OtherUser,
    /// No table knows it (other volumes, pipes, devices, network).
    Unknown,
}

/// Classify a target for an actor (the user decides own vs other profile).
pub fn target_class(obj: &ObjectName, user: &str) -> (TargetClass, String) {
    let Some(row) = data::longest_prefix(data::targets(), &obj.key) else {
        return (TargetClass::Unknown, "no target class known".into());
    };
    let class = match row.class.as_str() {
        "ti_owned" => TargetClass::TiOwned,
        "system_only" => TargetClass::SystemOnly,
        "user" => {
            if owned_by(&obj.key, &row.prefix, user) {
                TargetClass::OwnUser
            } else {
                TargetClass::OtherUser
            }
        }
        _ => TargetClass::System,
    };
    (class, row.reason.clone())
}

/// Whether a user-class object belongs to `user`: `HKCU\...` always; `\users\<name>\...` when
/// `<name>` is the account name (profile folders may carry a `.DOMAIN` suffix); `HKU\<sid>`
/// cannot be tied to a name without the SID, so it counts as the user's own.
fn owned_by(key: &str, prefix: &str, user: &str) -> bool {
    if prefix != "\\users\\" {
        return true;
    }
    let name = user.rsplit('\\').next().unwrap_or(user).to_lowercase();
    let folder = key[prefix.len()..].split('\\').next().unwrap_or("");
    !name.is_empty() && (folder == name || folder.starts_with(&format!("{name}.")))
}

/// Class of the actor of a denial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorClass {
    /// Holds the TrustedInstaller service SID (TrustedInstaller.exe, TiWorker.exe, their children).
    TrustedInstaller,
    /// LocalSystem.
    System,
    /// A limited service account (LOCAL SERVICE, NETWORK SERVICE, virtual service accounts).
    Service,
    /// An elevated (High integrity) user.
    Admin,
    /// A Medium integrity user.
    User,
    /// Low / Untrusted / AppContainer integrity.
    LowBox,
    /// Nothing known about the actor.
    Unknown,
}

/// Classify an actor from its account, integrity level and whether it runs with the
/// TrustedInstaller token.
pub fn actor_class(user: &str, integrity: &str, ti_token: bool) -> ActorClass {
    if ti_token {
        return ActorClass::TrustedInstaller;
    }
    match data::account(user).map(|a| a.class.as_str()) {
        Some("trustedinstaller") => return ActorClass::TrustedInstaller,
        Some("system") => return ActorClass::System,
        Some("service") => return ActorClass::Service,
        _ => {}
    }
    let il = integrity.trim().to_ascii_lowercase();
    if il.starts_with("low") || il.starts_with("untrusted") || il.starts_with("appcontainer") {
        ActorClass::LowBox
    } else if il.starts_with("medium") {
        ActorClass::User
    } else if il.starts_with("high") {
        ActorClass::Admin
    } else if il.starts_with("system") && !user.trim().is_empty() {
        // A named user at System integrity that no account row knows: treat as SYSTEM-like.
        ActorClass::System
    } else if !user.trim().is_empty() {
        ActorClass::User
    } else {
        ActorClass::Unknown
    }
}

/// Whether an operation asks to change its target (write, delete, create, change security),
/// from Procmon's operation name and its Detail (`Desired Access`, `Disposition`).
pub fn write_intent(operation: &str, detail: &str) -> bool {
    const WRITE_OPS: [&str; 10] = [
        "RegSetValue",
        "RegDeleteValue",
        "RegDeleteKey",
        "RegSetInfoKey",
        "RegSetKeySecurity",
        "RegRenameKey",
        "RegRestoreKey",
        "RegLoadKey",
        "RegUnloadKey",
        "WriteFile",
    ];
    // Set*File covers SetBasicInformationFile, SetRenameInformationFile, SetSecurityFile ...
    if WRITE_OPS.iter().any(|o| o.eq_ignore_ascii_case(operation))
        || (operation.starts_with("Set") && operation.ends_with("File"))
    {
        return true;
    }
    const WRITE_ACCESS: [&str; 11] = [
        "Write",
        "Append",
        "Delete",
        "All Access",
        "Generic All",
        "Set Value",
        "Create Sub Key",
        "Create Link",
        "Write DAC",
        "Write Owner",
        "Add File",
    ];
    let access = detail
        .split("Desired Access:")
        .nth(1)
        .map(|s| s.split(", Disposition").next().unwrap_or(s))
        .unwrap_or("");
    let creates = [
        "Disposition: Create",
        "Disposition: Overwrite",
        "Disposition: Supersede",
    ]
    .iter()
    .any(|d| detail.contains(d));
    creates || WRITE_ACCESS.iter().any(|w| access.contains(w))
}

/// Verdict of the ACL heuristic for one denial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclJudgement {
    /// An ordinary ACL plausibly produced the denial.
    pub plausible: bool,
    /// Why (one sentence).
    pub reason: String,
}

/// Judge whether an ordinary ACL plausibly denied `actor` on a `target` (with or without
/// write intent).
pub fn acl_plausible(actor: ActorClass, target: TargetClass, write: bool) -> AclJudgement {
    use ActorClass as A;
    use TargetClass as T;
    let (plausible, why) = match (actor, target) {
        (A::TrustedInstaller, _) => (
            false,
            "the actor holds the TrustedInstaller token, which ordinary ACLs on Windows objects grant",
        ),
        (A::System, T::TiOwned) if write => (
            true,
            "SYSTEM may read but not change TrustedInstaller-owned system files",
        ),
        (A::System, _) => (
            false,
            "the actor is SYSTEM, which ordinary ACLs on this class of object grant",
        ),
        (A::Unknown, _) => (false, "the actor's account and integrity are not known"),
        (A::LowBox, _) => (
            true,
            "a Low integrity / AppContainer process is refused most objects by mandatory integrity and ACLs",
        ),
        (A::Service, T::OwnUser) => (
            true,
            "a limited service account does not own user data",
        ),
        (A::Service, _) => (
            true,
            "a limited service account (NETWORK / LOCAL SERVICE) is refused SYSTEM-only and protected objects by ordinary ACLs",
        ),
        (A::Admin, T::TiOwned) if write => (
            true,
            "Administrators may read but not change TrustedInstaller-owned system files",
        ),
        (A::Admin, T::SystemOnly | T::OtherUser | T::Unknown) => (
            true,
            "even an elevated user is refused SYSTEM-only objects, other users' data and objects with their own ACLs",
        ),
        (A::Admin, _) => (
            false,
            "an elevated Administrator is granted this class of object by ordinary ACLs",
        ),
        (A::User, T::OwnUser) => (
            false,
            "the user owns this object; ordinary ACLs grant it",
        ),
        (A::User, _) => (
            true,
            "a Medium integrity user is refused system-owned objects and other users' data by ordinary ACLs",
        ),
    };
    AclJudgement {
        plausible,
        reason: why.to_string(),
    }
}

/// Why a denial matters to servicing (actor or target), or `None`.
pub fn servicing_reason(
    process: &str,
    command_line: &str,
    ti_token: bool,
    obj: &ObjectName,
) -> Option<String> {
    if let Some(p) = data::servicing_process(process, command_line) {
        return Some(format!("actor {process}: {}", p.reason));
    }
    if ti_token {
        return Some(format!(
            "actor {process} runs with the TrustedInstaller token (started by the servicing stack)"
        ));
    }
    data::longest_prefix(data::servicing_objects(), &obj.key)
        .map(|r| format!("target under {}: {}", r.prefix, r.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let o = object_name("\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\AmdK8\\Start");
        assert!(o.registry);
        assert_eq!(
            o.display,
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\AmdK8\\Start"
        );
        assert_eq!(
            o.key,
            "hklm\\system\\currentcontrolset\\services\\amdk8\\start"
        );
        let o = object_name("HKLM\\System\\ControlSet002");
        assert_eq!(o.display, "HKLM\\System\\CurrentControlSet");
        assert_eq!(
            object_name("HKLM\\System\\ControlSetX").display,
            "HKLM\\System\\ControlSetX"
        );
        let f = object_name("C:\\Windows\\System32\\drivers\\amdk8.sys");
        assert!(!f.registry);
        assert_eq!(f.key, "\\windows\\system32\\drivers\\amdk8.sys");
        assert_eq!(
            object_name("\\\\?\\C:\\WINDOWS\\SoftwareDistribution\\x").key,
            "\\windows\\softwaredistribution\\x"
        );
        assert_eq!(
            object_name("\\Device\\HarddiskVolume2\\Windows\\WinSxS\\a").key,
            "\\windows\\winsxs\\a"
        );
        assert_eq!(object_name("HKCU\\Software").key, "hkcu\\software");
        assert!(object_name("HKCRX").key == "hkcrx" && !object_name("HKCRX").registry);
    }

    #[test]
    fn actors_and_targets() {
        assert_eq!(
            actor_class("NT AUTHORITY\\SYSTEM", "System", false),
            ActorClass::System
        );
        assert_eq!(
            actor_class("NT AUTHORITY\\SYSTEM", "System", true),
            ActorClass::TrustedInstaller
        );
        assert_eq!(
            actor_class("NT AUTHORITY\\NETWORK SERVICE", "System", false),
            ActorClass::Service
        );
        assert_eq!(actor_class("PC\\bob", "Medium", false), ActorClass::User);
        assert_eq!(actor_class("PC\\bob", "High", false), ActorClass::Admin);
        assert_eq!(
            actor_class("PC\\bob", "AppContainer", false),
            ActorClass::LowBox
        );
        assert_eq!(actor_class("", "", false), ActorClass::Unknown);
        let t = |p: &str, u: &str| target_class(&object_name(p), u).0;
        assert_eq!(t("HKLM\\Software\\X", "PC\\bob"), TargetClass::System);
        assert_eq!(
            t("C:\\Windows\\System32\\x.dll", "PC\\bob"),
            TargetClass::TiOwned
        );
        assert_eq!(t("C:\\Users\\bob\\a.txt", "PC\\bob"), TargetClass::OwnUser);
        assert_eq!(
            t("C:\\Users\\bob.CORP\\a.txt", "CORP\\bob"),
            TargetClass::OwnUser
        );
        assert_eq!(
            t("C:\\Users\\eve\\a.txt", "PC\\bob"),
            TargetClass::OtherUser
        );
        assert_eq!(t("D:\\data\\a.txt", "PC\\bob"), TargetClass::Unknown);
        assert_eq!(t("HKCU\\Software", "PC\\bob"), TargetClass::OwnUser);
    }

    #[test]
    fn acl_heuristic() {
        use ActorClass as A;
        use TargetClass as T;
        assert!(!acl_plausible(A::TrustedInstaller, T::System, true).plausible);
        assert!(!acl_plausible(A::System, T::System, true).plausible);
        assert!(acl_plausible(A::System, T::TiOwned, true).plausible);
        assert!(!acl_plausible(A::System, T::TiOwned, false).plausible);
        assert!(acl_plausible(A::Service, T::System, true).plausible);
        assert!(acl_plausible(A::User, T::System, false).plausible);
        assert!(!acl_plausible(A::User, T::OwnUser, true).plausible);
        assert!(!acl_plausible(A::Admin, T::System, true).plausible);
        assert!(acl_plausible(A::Admin, T::TiOwned, true).plausible);
    }

    #[test]
    fn intent() {
        assert!(write_intent(
            "RegSetValue",
            "Type: REG_DWORD, Length: 4, Data: 3"
        ));
        assert!(write_intent(
            "RegCreateKey",
            "Desired Access: Set Value, Create Sub Key, Enumerate Sub Key"
        ));
        assert!(!write_intent("RegOpenKey", "Desired Access: Read"));
        assert!(write_intent("RegOpenKey", "Desired Access: All Access"));
        assert!(!write_intent(
            "CreateFile",
            "Desired Access: Generic Read/Execute, Disposition: Open, Options: , Attributes: n/a"
        ));
        assert!(write_intent(
            "CreateFile",
            "Desired Access: Generic Write, Read Attributes, Disposition: OverwriteIf, Options: "
        ));
        assert!(write_intent("SetRenameInformationFile", ""));
    }

    #[test]
    fn servicing() {
        let o = object_name("HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start");
        assert!(servicing_reason("reg.exe", "", false, &o).is_some());
        let o = object_name("HKLM\\Software\\Microsoft\\Windows Search");
        assert!(servicing_reason("SearchProtocolHost.exe", "", false, &o).is_none());
        assert!(servicing_reason("TrustedInstaller.exe", "", false, &o).is_some());
    }
}
