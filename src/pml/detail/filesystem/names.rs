//! Name tables of the File System class: operations and sub-operations (`format-pml.md` tables
//! 11.6-11.13), CreateFile words (11.14-11.19), read/write flags (11.21-11.22), mapping
//! protections (11.28, `procmon-text.md` §3.2.5), notify filters (11.29), security information
//! and file-system attributes (`procmon-text.md` §3.2.8-§3.2.9) and the Windows
//! FILE_INFORMATION_CLASS names printed by QueryDirectory (§3.2.4).

/// Operation names by operation number 0-47 (table 11.6). Numbers whose name depends on the
/// sub-operation byte hold the major name here; see [`operation`].
///
/// 3 and 5 (fast-I/O MDL write / read) print as `WriteFile` / `ReadFile`: `format-pml.md` §9.2
/// says Procmon shows fast-I/O reads and writes with the IRP names (the table's `WriteFile2` /
/// `ReadFile2` are procmon-parser's enum spellings; no corpus event has them).
const MAJOR: [&str; 48] = [
    "VolumeDismount",
    "VolumeMount",
    "FASTIO_MDL_WRITE_COMPLETE",
    "WriteFile",
    "FASTIO_MDL_READ_COMPLETE",
    "ReadFile",
    "QueryOpen",
    "FASTIO_CHECK_IF_POSSIBLE",
    "IRP_MJ_12",
    "IRP_MJ_11",
    "IRP_MJ_10",
    "IRP_MJ_9",
    "IRP_MJ_8",
    "FASTIO_NOTIFY_STREAM_FO_CREATION",
    "FASTIO_RELEASE_FOR_CC_FLUSH",
    "FASTIO_ACQUIRE_FOR_CC_FLUSH",
    "FASTIO_RELEASE_FOR_MOD_WRITE",
    "FASTIO_ACQUIRE_FOR_MOD_WRITE",
    "FASTIO_RELEASE_FOR_SECTION_SYNCHRONIZATION",
    "CreateFileMapping",
    "CreateFile",
    "CreatePipe",
    "IRP_MJ_CLOSE",
    "ReadFile",
    "WriteFile",
    "QueryInformationFile",
    "SetInformationFile",
    "QueryEAFile",
    "SetEAFile",
    "FlushBuffersFile",
    "QueryVolumeInformation",
    "SetVolumeInformation",
    "DirectoryControl",
    "FileSystemControl",
    "DeviceIoControl",
    "InternalDeviceIoControl",
    "Shutdown",
    "LockUnlockFile",
    "CloseFile",
    "CreateMailSlot",
    "QuerySecurityFile",
    "SetSecurityFile",
    "Power",
    "SystemControl",
    "DeviceChange",
    "QueryFileQuota",
    "SetFileQuota",
    "PlugAndPlay",
];

/// Operation numbers (table 11.6) used by the decoders.
pub mod op {
    pub const CREATE_FILE_MAPPING: u16 = 19;
    pub const CREATE_FILE: u16 = 20;
    pub const CREATE_PIPE: u16 = 21;
    pub const READ_FILE: u16 = 23;
    pub const WRITE_FILE: u16 = 24;
    pub const QUERY_INFORMATION: u16 = 25;
    pub const SET_INFORMATION: u16 = 26;
    pub const QUERY_EA: u16 = 27;
    pub const SET_EA: u16 = 28;
    pub const QUERY_VOLUME_INFORMATION: u16 = 30;
    pub const SET_VOLUME_INFORMATION: u16 = 31;
    pub const DIRECTORY_CONTROL: u16 = 32;
    pub const FILE_SYSTEM_CONTROL: u16 = 33;
    pub const DEVICE_IO_CONTROL: u16 = 34;
    pub const INTERNAL_DEVICE_IO_CONTROL: u16 = 35;
    pub const LOCK_UNLOCK_FILE: u16 = 37;
    pub const CREATE_MAIL_SLOT: u16 = 39;
    pub const QUERY_SECURITY: u16 = 40;
    pub const SET_SECURITY: u16 = 41;
    pub const PLUG_AND_PLAY: u16 = 47;
    /// Fast-I/O MDL write (shown as WriteFile).
    pub const FASTIO_MDL_WRITE: u16 = 3;
    /// Fast-I/O MDL read (shown as ReadFile).
    pub const FASTIO_MDL_READ: u16 = 5;
}

/// Sub-operations of QueryInformationFile (25), FILE_INFORMATION_CLASS values (table 11.9).
fn query_information(sub: u8) -> Option<&'static str> {
    Some(match sub {
        0x04 => "QueryBasicInformationFile",
        0x05 => "QueryStandardInformationFile",
        0x06 => "QueryFileInternalInformationFile",
        0x07 => "QueryEaInformationFile",
        0x09 => "QueryNameInformationFile",
        0x0E => "QueryPositionInformationFile",
        0x12 => "QueryAllInformationFile",
        0x14 => "QueryEndOfFile",
        0x16 => "QueryStreamInformationFile",
        0x1C => "QueryCompressionInformationFile",
        0x1D => "QueryId",
        0x1F => "QueryMoveClusterInformationFile",
        0x22 => "QueryNetworkOpenInformationFile",
        0x23 => "QueryAttributeTagFile",
        0x25 => "QueryIdBothDirectory",
        0x27 => "QueryValidDataLength",
        0x28 => "QueryShortNameInformationFile",
        0x2B => "QueryIoPiorityHint",
        0x2E => "QueryLinks",
        0x30 => "QueryNormalizedNameInformationFile",
        0x31 => "QueryNetworkPhysicalNameInformationFile",
        0x32 => "QueryIdGlobalTxDirectoryInformation",
        0x33 => "QueryIsRemoteDeviceInformation",
        0x34 => "QueryAttributeCacheInformation",
        0x35 => "QueryNumaNodeInformation",
        0x36 => "QueryStandardLinkInformation",
        0x37 => "QueryRemoteProtocolInformation",
        0x38 => "QueryRenameInformationBypassAccessCheck",
        0x39 => "QueryLinkInformationBypassAccessCheck",
        0x3A => "QueryVolumeNameInformation",
        0x3B => "QueryIdInformation",
        0x3C => "QueryIdExtdDirectoryInformation",
        0x3E => "QueryHardLinkFullIdInformation",
        0x3F => "QueryIdExtdBothDirectoryInformation",
        0x43 => "QueryDesiredStorageClassInformation",
        0x44 => "QueryStatInformation",
        0x45 => "QueryMemoryPartitionInformation",
        0x46 => "QuerySatLxInformation",
        0x47 => "QueryCaseSensitiveInformation",
        0x48 => "QueryLinkInformationEx",
        0x49 => "QueryLinkInfomraitonBypassAccessCheck",
        0x4A => "QueryStorageReservedIdInformation",
        0x4B => "QueryCaseSensitiveInformationForceAccessCheck",
        _ => return None,
    })
}

/// Sub-operations of SetInformationFile (26), FILE_INFORMATION_CLASS values (table 11.10).
fn set_information(sub: u8) -> Option<&'static str> {
    Some(match sub {
        0x04 => "SetBasicInformationFile",
        0x0A => "SetRenameInformationFile",
        0x0B => "SetLinkInformationFile",
        0x0D => "SetDispositionInformationFile",
        0x0E => "SetPositionInformationFile",
        0x13 => "SetAllocationInformationFile",
        0x14 => "SetEndOfFileInformationFile",
        0x16 => "SetFileStreamInformation",
        0x17 => "SetPipeInformation",
        0x27 => "SetValidDataLengthInformationFile",
        0x28 => "SetShortNameInformation",
        0x3D => "SetReplaceCompletionInformation",
        0x40 => "SetDispositionInformationEx",
        0x41 => "SetRenameInformationEx",
        0x42 => "SetRenameInformationExBypassAccessCheck",
        0x4A => "SetStorageReservedIdInformation",
        _ => return None,
    })
}

/// Sub-operations of QueryVolumeInformation (30), FS_INFORMATION_CLASS values (table 11.7).
const QUERY_VOLUME: [&str; 9] = [
    "",
    "QueryInformationVolume",
    "QueryLabelInformationVolume",
    "QuerySizeInformationVolume",
    "QueryDeviceInformationVolume",
    "QueryAttributeInformationVolume",
    "QueryControlInformationVolume",
    "QueryFullSizeInformationVolume",
    "QueryObjectIdInformationVolume",
];

/// Sub-operations of SetVolumeInformation (31) (table 11.8).
fn set_volume(sub: u8) -> Option<&'static str> {
    Some(match sub {
        0x1 => "SetControlInformationVolume",
        0x2 => "SetLabelInformationVolume",
        0x8 => "SetObjectIdInformationVolume",
        _ => return None,
    })
}

/// Sub-operations of DirectoryControl (32), IRP minor functions (table 11.11).
const DIRECTORY_CONTROL: [&str; 3] = ["", "QueryDirectory", "NotifyChangeDirectory"];

/// Sub-operations of LockUnlockFile (37), IRP minor functions (table 11.13).
const LOCK_CONTROL: [&str; 5] = [
    "",
    "LockFile",
    "UnlockFileSingle",
    "UnlockFileAll",
    "UnlockFileByKey",
];

/// Sub-operations of PlugAndPlay (47), IRP_MN_ values (table 11.12; 0x0E has no name).
const PNP: [&str; 25] = [
    "StartDevice",
    "QueryRemoveDevice",
    "RemoveDevice",
    "CancelRemoveDevice",
    "StopDevice",
    "QueryStopDevice",
    "CancelStopDevice",
    "QueryDeviceRelations",
    "QueryInterface",
    "QueryCapabilities",
    "QueryResources",
    "QueryResourceRequirements",
    "QueryDeviceText",
    "FilterResourceRequirements",
    "",
    "ReadConfig",
    "WriteConfig",
    "Eject",
    "SetLock",
    "QueryId2",
    "QueryPnpDeviceState",
    "QueryBusInformation",
    "DeviceUsageNotification",
    "SurpriseRemoval",
    "QueryLegacyBusInformation",
];

/// Look `i` up in a dense table; empty entries count as unnamed.
fn dense(table: &'static [&'static str], i: u8) -> Option<&'static str> {
    table.get(usize::from(i)).copied().filter(|s| !s.is_empty())
}

/// The Operation column for operation `op` with sub-operation byte `sub` (`procmon-text.md`
/// §2.5): `None` when Procmon prints `<Unknown>` (an unnamed sub-operation of a major that is
/// refined by it, or an operation number beyond table 11.6).
pub fn operation(op: u16, sub: u8) -> Option<&'static str> {
    match op {
        op::QUERY_INFORMATION => query_information(sub),
        op::SET_INFORMATION => set_information(sub),
        op::QUERY_VOLUME_INFORMATION => dense(&QUERY_VOLUME, sub),
        op::SET_VOLUME_INFORMATION => set_volume(sub),
        op::DIRECTORY_CONTROL => dense(&DIRECTORY_CONTROL, sub),
        op::LOCK_UNLOCK_FILE => dense(&LOCK_CONTROL, sub),
        op::PLUG_AND_PLAY => dense(&PNP, sub),
        _ => MAJOR.get(usize::from(op)).copied(),
    }
}

/// CreateFile dispositions (table 11.14).
pub const DISPOSITION: [&str; 6] = [
    "Supersede",
    "Open",
    "Create",
    "OpenIf",
    "Overwrite",
    "OverwriteIf",
];

/// CreateFile open results, IO_STATUS_BLOCK.Information (table 11.15).
pub const OPEN_RESULT: [&str; 6] = [
    "Superseded",
    "Opened",
    "Created",
    "Overwritten",
    "Exists",
    "DoesNotExist",
];

/// CreateFile options in Procmon's print order: table 11.16 read column by column, which is
/// ascending bit order except that 0x10000 and 0x20000 come after 0x800000 (corpus rows, e.g.
/// `CompressedLogfileTests64bitUTC` row 6497: `Open For Backup, Open No Recall, Disallow
/// Exclusive`).
pub const CREATE_OPTIONS: [(u32, &str); 22] = [
    (0x1, "Directory"),
    (0x2, "Write Through"),
    (0x4, "Sequential Access"),
    (0x8, "No Buffering"),
    (0x10, "Synchronous IO Alert"),
    (0x20, "Synchronous IO Non-Alert"),
    (0x40, "Non-Directory File"),
    (0x80, "Create Tree Connection"),
    (0x100, "Complete If Oplocked"),
    (0x200, "No EA Knowledge"),
    (0x400, "Open for Recovery"),
    (0x800, "Random Access"),
    (0x1000, "Delete On Close"),
    (0x2000, "Open By ID"),
    (0x4000, "Open For Backup"),
    (0x8000, "No Compression"),
    (0x100000, "Reserve OpFilter"),
    (0x200000, "Open Reparse Point"),
    (0x400000, "Open No Recall"),
    (0x800000, "Open For Free Space Query"),
    (0x10000, "Open Requiring Oplock"),
    (0x20000, "Disallow Exclusive"),
];

/// File attribute letters in ascending bit order (table 11.17).
pub const ATTRIBUTES: [(u32, &str); 15] = [
    (0x1, "R"),
    (0x2, "H"),
    (0x4, "S"),
    (0x10, "D"),
    (0x20, "A"),
    (0x40, "D"),
    (0x80, "N"),
    (0x100, "T"),
    (0x200, "SF"),
    (0x400, "RP"),
    (0x800, "C"),
    (0x1000, "O"),
    (0x2000, "NCI"),
    (0x4000, "E"),
    (0x10000, "V"),
];

/// Share access (table 11.18).
pub const SHARE: [(u32, &str); 3] = [(0x1, "Read"), (0x2, "Write"), (0x4, "Delete")];

/// Composite file access words, tried in this order before single rights (table 11.19).
pub const ACCESS_WORDS: [(u32, &str); 8] = [
    (0x1F01FF, "All Access"),
    (0x1201BF, "Generic Read/Write/Execute"),
    (0x12019F, "Generic Read/Write"),
    (0x1200A9, "Generic Read/Execute"),
    (0x1201B6, "Generic Write/Execute"),
    (0x120089, "Generic Read"),
    (0x120116, "Generic Write"),
    (0x1200A0, "Generic Execute"),
];

/// Single file access rights in Procmon's order (table 11.19).
pub const ACCESS_BITS: [(u32, &str); 16] = [
    (0x1, "Read Data/List Directory"),
    (0x2, "Write Data/Add File"),
    (0x4, "Append Data/Add Subdirectory/Create Pipe Instance"),
    (0x8, "Read EA"),
    (0x10, "Write EA"),
    (0x20, "Execute/Traverse"),
    (0x40, "Delete Child"),
    (0x80, "Read Attributes"),
    (0x100, "Write Attributes"),
    (0x10000, "Delete"),
    (0x20000, "Read Control"),
    (0x40000, "Write DAC"),
    (0x80000, "Write Owner"),
    (0x100000, "Synchronize"),
    (0x1000000, "Access System Security"),
    (0x2000000, "Maximum Allowed"),
];

/// Generic access bits and the file rights they map to (MapGenericMask with the file mapping,
/// table 11.19 heading).
pub const GENERIC_MAP: [(u32, u32); 4] = [
    (0x8000_0000, 0x120089),
    (0x4000_0000, 0x120116),
    (0x2000_0000, 0x1200A0),
    (0x1000_0000, 0x1F01FF),
];

/// Read/write I/O flags in ascending bit order (table 11.21).
pub const IO_FLAGS: [(u32, &str); 6] = [
    (0x1, "Non-cached"),
    (0x2, "Paging I/O"),
    (0x4, "Synchronous"),
    (0x10, "Buffered"),
    (0x40, "Synchronous Paging I/O"),
    (0x400000, "Write Through"),
];

/// Read/write priority hints (table 11.22; 0 is not shown).
pub const PRIORITY: [&str; 6] = ["", "Very Low", "Low", "Normal", "High", "Critical"];

/// CreateFileMapping SyncType (table 11.28).
pub const SYNC_TYPE: [&str; 2] = ["SyncTypeOther", "SyncTypeCreateSection"];

/// Page protections; Procmon prints the lowest set one (`procmon-text.md` §3.2.5).
pub const PAGE_PROTECTION: [(u32, &str); 8] = [
    (0x01, "PAGE_NOACCESS"),
    (0x02, "PAGE_READONLY"),
    (0x04, "PAGE_READWRITE"),
    (0x08, "PAGE_WRITECOPY"),
    (0x10, "PAGE_EXECUTE"),
    (0x20, "PAGE_EXECUTE_READ"),
    (0x40, "PAGE_EXECUTE_READWRITE"),
    (0x80, "PAGE_EXECUTE_WRITECOPY"),
];

/// PAGE_NOCACHE, appended as `|PAGE_NOCACHE`.
pub const PAGE_NOCACHE: u32 = 0x200;

/// NotifyChangeDirectory completion filter bits in bit order (table 11.29).
pub const NOTIFY_FILTER: [(u32, &str); 12] = [
    (0x1, "FILE_NOTIFY_CHANGE_FILE_NAME"),
    (0x2, "FILE_NOTIFY_CHANGE_DIR_NAME"),
    (0x4, "FILE_NOTIFY_CHANGE_ATTRIBUTES"),
    (0x8, "FILE_NOTIFY_CHANGE_SIZE"),
    (0x10, "FILE_NOTIFY_CHANGE_LAST_WRITE"),
    (0x20, "FILE_NOTIFY_CHANGE_LAST_ACCESS"),
    (0x40, "FILE_NOTIFY_CHANGE_CREATION"),
    (0x80, "FILE_NOTIFY_CHANGE_EA"),
    (0x100, "FILE_NOTIFY_CHANGE_SECURITY"),
    (0x200, "FILE_NOTIFY_CHANGE_STREAM_NAME"),
    (0x400, "FILE_NOTIFY_CHANGE_STREAM_SIZE"),
    (0x800, "FILE_NOTIFY_CHANGE_STREAM_WRITE"),
];

/// SECURITY_INFORMATION bits Procmon names, in print order (`procmon-text.md` §3.2.9);
/// other bits print as one hex number after them.
pub const SECURITY_INFORMATION: [(u32, &str); 11] = [
    (0x1, "Owner"),
    (0x2, "Group"),
    (0x4, "DACL"),
    (0x8, "SACL"),
    (0x10, "Label"),
    (0x20, "Attribute"),
    (0x80, "Process Trust Label"),
    (0x8000_0000, "DACL Protected"),
    (0x2000_0000, "DACL Unprotected"),
    (0x4000_0000, "SACL Protected"),
    (0x1000_0000, "SACL Unprotected"),
];

/// File-system attribute names in Procmon's order (`procmon-text.md` §3.2.8); other bits
/// print as one hex number after them.
pub const FS_ATTRIBUTES: [(u32, &str); 12] = [
    (0x2, "Case Preserved"),
    (0x1, "Case Sensitive"),
    (0x4, "Unicode"),
    (0x8, "ACLs"),
    (0x10, "Compression"),
    (0x40000, "Named Streams"),
    (0x20000, "EFS"),
    (0x10000, "Object IDs"),
    (0x80, "Reparse Points"),
    (0x40, "Sparse Files"),
    (0x20, "Quotas"),
    (0x200000, "Transactions"),
];

/// FILE_ALIGNMENT_* names for QueryAllInformationFile `AlignmentRequirement` (`procmon-text.md`
/// §3.2.7: `Byte` and `Long` seen, the others by the same convention).
pub fn alignment(v: u32) -> Option<&'static str> {
    Some(match v {
        0 => "Byte",
        1 => "Word",
        3 => "Long",
        7 => "Quad",
        15 => "Octa",
        31 => "32 Byte",
        63 => "64 Byte",
        127 => "128 Byte",
        255 => "256 Byte",
        511 => "512 Byte",
        _ => return None,
    })
}

/// Windows FILE_INFORMATION_CLASS names, index = value (QueryDirectory `FileInformationClass`).
const FILE_INFORMATION_CLASS: [&str; 82] = [
    "",
    "FileDirectoryInformation",
    "FileFullDirectoryInformation",
    "FileBothDirectoryInformation",
    "FileBasicInformation",
    "FileStandardInformation",
    "FileInternalInformation",
    "FileEaInformation",
    "FileAccessInformation",
    "FileNameInformation",
    "FileRenameInformation",
    "FileLinkInformation",
    "FileNamesInformation",
    "FileDispositionInformation",
    "FilePositionInformation",
    "FileFullEaInformation",
    "FileModeInformation",
    "FileAlignmentInformation",
    "FileAllInformation",
    "FileAllocationInformation",
    "FileEndOfFileInformation",
    "FileAlternateNameInformation",
    "FileStreamInformation",
    "FilePipeInformation",
    "FilePipeLocalInformation",
    "FilePipeRemoteInformation",
    "FileMailslotQueryInformation",
    "FileMailslotSetInformation",
    "FileCompressionInformation",
    "FileObjectIdInformation",
    "FileCompletionInformation",
    "FileMoveClusterInformation",
    "FileQuotaInformation",
    "FileReparsePointInformation",
    "FileNetworkOpenInformation",
    "FileAttributeTagInformation",
    "FileTrackingInformation",
    "FileIdBothDirectoryInformation",
    "FileIdFullDirectoryInformation",
    "FileValidDataLengthInformation",
    "FileShortNameInformation",
    "FileIoCompletionNotificationInformation",
    "FileIoStatusBlockRangeInformation",
    "FileIoPriorityHintInformation",
    "FileSfioReserveInformation",
    "FileSfioVolumeInformation",
    "FileHardLinkInformation",
    "FileProcessIdsUsingFileInformation",
    "FileNormalizedNameInformation",
    "FileNetworkPhysicalNameInformation",
    "FileIdGlobalTxDirectoryInformation",
    "FileIsRemoteDeviceInformation",
    "FileUnusedInformation",
    "FileNumaNodeInformation",
    "FileStandardLinkInformation",
    "FileRemoteProtocolInformation",
    "FileRenameInformationBypassAccessCheck",
    "FileLinkInformationBypassAccessCheck",
    "FileVolumeNameInformation",
    "FileIdInformation",
    "FileIdExtdDirectoryInformation",
    "FileReplaceCompletionInformation",
    "FileHardLinkFullIdInformation",
    "FileIdExtdBothDirectoryInformation",
    "FileDispositionInformationEx",
    "FileRenameInformationEx",
    "FileRenameInformationExBypassAccessCheck",
    "FileDesiredStorageClassInformation",
    "FileStatInformation",
    "FileMemoryPartitionInformation",
    "FileStatLxInformation",
    "FileCaseSensitiveInformation",
    "FileLinkInformationEx",
    "FileLinkInformationExBypassAccessCheck",
    "FileStorageReserveIdInformation",
    "FileCaseSensitiveInformationForceAccessCheck",
    "FileKnownFolderInformation",
    "FileStatBasicInformation",
    "FileId64ExtdDirectoryInformation",
    "FileId64ExtdBothDirectoryInformation",
    "FileIdAllExtdDirectoryInformation",
    "FileIdAllExtdBothDirectoryInformation",
];

/// The FILE_INFORMATION_CLASS name of `class`, if known.
pub fn file_information_class(class: u32) -> Option<&'static str> {
    FILE_INFORMATION_CLASS
        .get(class as usize)
        .copied()
        .filter(|s| !s.is_empty())
}

/// Where a directory-listing entry of information class `class` keeps its u32 FileNameLength
/// and its FileName, as offsets from the entry start (Windows FILE_*_DIR_INFORMATION layouts;
/// every entry starts with u32 NextEntryOffset).
pub fn directory_entry_name(class: u32) -> Option<(usize, usize)> {
    Some(match class {
        1 => (60, 64),   // FileDirectoryInformation
        2 => (60, 68),   // FileFullDirectoryInformation: + EaSize
        3 => (60, 94),   // FileBothDirectoryInformation: + EaSize, ShortName
        12 => (8, 12),   // FileNamesInformation
        37 => (60, 104), // FileIdBothDirectoryInformation: Both + pad + FileId
        38 => (60, 80),  // FileIdFullDirectoryInformation: Full + pad + FileId
        50 => (60, 92),  // FileIdGlobalTxDirectoryInformation
        60 => (60, 88),  // FileIdExtdDirectoryInformation: 128-bit FileId
        63 => (60, 114), // FileIdExtdBothDirectoryInformation
        78 => (60, 80),  // FileId64ExtdDirectoryInformation
        79 => (60, 106), // FileId64ExtdBothDirectoryInformation
        80 => (60, 96),  // FileIdAllExtdDirectoryInformation
        81 => (60, 122), // FileIdAllExtdBothDirectoryInformation
        _ => return None,
    })
}
