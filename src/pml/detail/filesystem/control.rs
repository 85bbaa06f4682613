//! Names of FSCTL_/IOCTL_ control codes for the `Control:` item of FileSystemControl and
//! DeviceIoControl (`procmon-text.md` §3.2.6, `format-pml.md` §9.2).
//!
//! Codes are built with the Windows SDK's `CTL_CODE(device, function, method, access)` formula
//! from the published definitions (winioctl.h / ntifs.h: device type, function number, transfer
//! method and required access). The table is sorted at compile time and searched by binary
//! search. Two corpus codes are deliberately absent because Procmon prints them unnamed:
//! 0x902EB (file system function 186) and 0x144064 (network file system function 25).
//! 0x901AF is the SDK's FSCTL_CSC_INTERNAL; Procmon prints it as
//! `CSC_FSCTL_OPERATION_QUERY_HANDLE`, so that is the name used here.

/// `CTL_CODE(device, function, method, access)`.
const fn ctl(device: u32, function: u32, method: u32, access: u32) -> u32 {
    (device << 16) | (access << 14) | (function << 2) | method
}

// Transfer methods.
const BUF: u32 = 0; // METHOD_BUFFERED
const OUT_D: u32 = 2; // METHOD_OUT_DIRECT
const NEI: u32 = 3; // METHOD_NEITHER

// Required access.
const ANY: u32 = 0; // FILE_ANY_ACCESS (= FILE_SPECIAL_ACCESS)
const RD: u32 = 1; // FILE_READ_ACCESS
const WR: u32 = 2; // FILE_WRITE_ACCESS
const RW: u32 = 3; // FILE_READ_ACCESS | FILE_WRITE_ACCESS

// Device types.
const FS: u32 = 0x09; // FILE_DEVICE_FILE_SYSTEM
const DISK: u32 = 0x07; // FILE_DEVICE_DISK (IOCTL_DISK_BASE)
const MAILSLOT: u32 = 0x0C; // FILE_DEVICE_MAILSLOT
const PIPE: u32 = 0x11; // FILE_DEVICE_NAMED_PIPE
const NETFS: u32 = 0x14; // FILE_DEVICE_NETWORK_FILE_SYSTEM
const STORAGE: u32 = 0x2D; // FILE_DEVICE_MASS_STORAGE (IOCTL_STORAGE_BASE)
const MOUNTDEV: u32 = 0x4D; // 'M' (MOUNTDEVCONTROLTYPE)
const VOLUME: u32 = 0x56; // 'V' (IOCTL_VOLUME_BASE)
const MOUNTMGR: u32 = 0x6D; // 'm' (MOUNTMGRCONTROLTYPE)

/// (code, name), in declaration order; [`SORTED`] is the searchable copy.
const TABLE: &[(u32, &str)] = &[
    // File system controls (FILE_DEVICE_FILE_SYSTEM).
    (ctl(FS, 0, BUF, ANY), "FSCTL_REQUEST_OPLOCK_LEVEL_1"),
    (ctl(FS, 1, BUF, ANY), "FSCTL_REQUEST_OPLOCK_LEVEL_2"),
    (ctl(FS, 2, BUF, ANY), "FSCTL_REQUEST_BATCH_OPLOCK"),
    (ctl(FS, 3, BUF, ANY), "FSCTL_OPLOCK_BREAK_ACKNOWLEDGE"),
    (ctl(FS, 4, BUF, ANY), "FSCTL_OPBATCH_ACK_CLOSE_PENDING"),
    (ctl(FS, 5, BUF, ANY), "FSCTL_OPLOCK_BREAK_NOTIFY"),
    (ctl(FS, 6, BUF, ANY), "FSCTL_LOCK_VOLUME"),
    (ctl(FS, 7, BUF, ANY), "FSCTL_UNLOCK_VOLUME"),
    (ctl(FS, 8, BUF, ANY), "FSCTL_DISMOUNT_VOLUME"),
    (ctl(FS, 10, BUF, ANY), "FSCTL_IS_VOLUME_MOUNTED"),
    (ctl(FS, 11, BUF, ANY), "FSCTL_IS_PATHNAME_VALID"),
    (ctl(FS, 12, BUF, ANY), "FSCTL_MARK_VOLUME_DIRTY"),
    (ctl(FS, 14, NEI, ANY), "FSCTL_QUERY_RETRIEVAL_POINTERS"),
    (ctl(FS, 15, BUF, ANY), "FSCTL_GET_COMPRESSION"),
    (ctl(FS, 16, BUF, RW), "FSCTL_SET_COMPRESSION"),
    (ctl(FS, 19, NEI, ANY), "FSCTL_MARK_AS_SYSTEM_HIVE"),
    (ctl(FS, 20, BUF, ANY), "FSCTL_OPLOCK_BREAK_ACK_NO_2"),
    (ctl(FS, 21, BUF, ANY), "FSCTL_INVALIDATE_VOLUMES"),
    (ctl(FS, 22, BUF, ANY), "FSCTL_QUERY_FAT_BPB"),
    (ctl(FS, 23, BUF, ANY), "FSCTL_REQUEST_FILTER_OPLOCK"),
    (ctl(FS, 24, BUF, ANY), "FSCTL_FILESYSTEM_GET_STATISTICS"),
    (ctl(FS, 25, BUF, ANY), "FSCTL_GET_NTFS_VOLUME_DATA"),
    (ctl(FS, 26, BUF, ANY), "FSCTL_GET_NTFS_FILE_RECORD"),
    (ctl(FS, 27, NEI, ANY), "FSCTL_GET_VOLUME_BITMAP"),
    (ctl(FS, 28, NEI, ANY), "FSCTL_GET_RETRIEVAL_POINTERS"),
    (ctl(FS, 29, BUF, ANY), "FSCTL_MOVE_FILE"),
    (ctl(FS, 30, BUF, ANY), "FSCTL_IS_VOLUME_DIRTY"),
    (ctl(FS, 31, BUF, ANY), "FSCTL_GET_HFS_INFORMATION"),
    (ctl(FS, 32, NEI, ANY), "FSCTL_ALLOW_EXTENDED_DASD_IO"),
    (ctl(FS, 33, NEI, ANY), "FSCTL_READ_PROPERTY_DATA"),
    (ctl(FS, 34, NEI, ANY), "FSCTL_WRITE_PROPERTY_DATA"),
    (ctl(FS, 35, NEI, ANY), "FSCTL_FIND_FILES_BY_SID"),
    (ctl(FS, 37, NEI, ANY), "FSCTL_DUMP_PROPERTY_DATA"),
    (ctl(FS, 38, BUF, ANY), "FSCTL_SET_OBJECT_ID"),
    (ctl(FS, 39, BUF, ANY), "FSCTL_GET_OBJECT_ID"),
    (ctl(FS, 40, BUF, ANY), "FSCTL_DELETE_OBJECT_ID"),
    (ctl(FS, 41, BUF, ANY), "FSCTL_SET_REPARSE_POINT"),
    (ctl(FS, 42, BUF, ANY), "FSCTL_GET_REPARSE_POINT"),
    (ctl(FS, 43, BUF, ANY), "FSCTL_DELETE_REPARSE_POINT"),
    (ctl(FS, 44, NEI, ANY), "FSCTL_ENUM_USN_DATA"),
    (ctl(FS, 45, NEI, RD), "FSCTL_SECURITY_ID_CHECK"),
    (ctl(FS, 46, NEI, ANY), "FSCTL_READ_USN_JOURNAL"),
    (ctl(FS, 47, BUF, ANY), "FSCTL_SET_OBJECT_ID_EXTENDED"),
    (ctl(FS, 48, BUF, ANY), "FSCTL_CREATE_OR_GET_OBJECT_ID"),
    (ctl(FS, 49, BUF, ANY), "FSCTL_SET_SPARSE"),
    (ctl(FS, 50, BUF, WR), "FSCTL_SET_ZERO_DATA"),
    (ctl(FS, 51, NEI, RD), "FSCTL_QUERY_ALLOCATED_RANGES"),
    (ctl(FS, 52, BUF, WR), "FSCTL_ENABLE_UPGRADE"),
    (ctl(FS, 53, NEI, ANY), "FSCTL_SET_ENCRYPTION"),
    (ctl(FS, 54, NEI, ANY), "FSCTL_ENCRYPTION_FSCTL_IO"),
    (ctl(FS, 55, NEI, ANY), "FSCTL_WRITE_RAW_ENCRYPTED"),
    (ctl(FS, 56, NEI, ANY), "FSCTL_READ_RAW_ENCRYPTED"),
    (ctl(FS, 57, NEI, ANY), "FSCTL_CREATE_USN_JOURNAL"),
    (ctl(FS, 58, NEI, ANY), "FSCTL_READ_FILE_USN_DATA"),
    (ctl(FS, 59, NEI, ANY), "FSCTL_WRITE_USN_CLOSE_RECORD"),
    (ctl(FS, 60, BUF, ANY), "FSCTL_EXTEND_VOLUME"),
    (ctl(FS, 61, BUF, ANY), "FSCTL_QUERY_USN_JOURNAL"),
    (ctl(FS, 62, BUF, ANY), "FSCTL_DELETE_USN_JOURNAL"),
    (ctl(FS, 63, BUF, ANY), "FSCTL_MARK_HANDLE"),
    (ctl(FS, 64, BUF, ANY), "FSCTL_SIS_COPYFILE"),
    (ctl(FS, 65, BUF, RW), "FSCTL_SIS_LINK_FILES"),
    (ctl(FS, 66, BUF, RW), "FSCTL_HSM_MSG"),
    (ctl(FS, 68, NEI, RW), "FSCTL_HSM_DATA"),
    (ctl(FS, 69, NEI, ANY), "FSCTL_RECALL_FILE"),
    (ctl(FS, 71, OUT_D, RD), "FSCTL_READ_FROM_PLEX"),
    (ctl(FS, 72, BUF, ANY), "FSCTL_FILE_PREFETCH"),
    (ctl(FS, 76, BUF, WR), "FSCTL_MAKE_MEDIA_COMPATIBLE"),
    (ctl(FS, 77, BUF, WR), "FSCTL_SET_DEFECT_MANAGEMENT"),
    (ctl(FS, 78, BUF, ANY), "FSCTL_QUERY_SPARING_INFO"),
    (ctl(FS, 79, BUF, ANY), "FSCTL_QUERY_ON_DISK_VOLUME_INFO"),
    (ctl(FS, 80, BUF, ANY), "FSCTL_SET_VOLUME_COMPRESSION_STATE"),
    (ctl(FS, 81, BUF, WR), "FSCTL_TXFS_MODIFY_RM"),
    (ctl(FS, 82, BUF, RD), "FSCTL_TXFS_QUERY_RM_INFORMATION"),
    (ctl(FS, 84, BUF, WR), "FSCTL_TXFS_ROLLFORWARD_REDO"),
    (ctl(FS, 85, BUF, WR), "FSCTL_TXFS_ROLLFORWARD_UNDO"),
    (ctl(FS, 86, BUF, WR), "FSCTL_TXFS_START_RM"),
    (ctl(FS, 87, BUF, WR), "FSCTL_TXFS_SHUTDOWN_RM"),
    (ctl(FS, 88, BUF, RD), "FSCTL_TXFS_READ_BACKUP_INFORMATION"),
    (ctl(FS, 89, BUF, WR), "FSCTL_TXFS_WRITE_BACKUP_INFORMATION"),
    (ctl(FS, 90, BUF, WR), "FSCTL_TXFS_CREATE_SECONDARY_RM"),
    (ctl(FS, 91, BUF, RD), "FSCTL_TXFS_GET_METADATA_INFO"),
    (ctl(FS, 92, BUF, RD), "FSCTL_TXFS_GET_TRANSACTED_VERSION"),
    (ctl(FS, 94, BUF, WR), "FSCTL_TXFS_SAVEPOINT_INFORMATION"),
    (ctl(FS, 95, BUF, WR), "FSCTL_TXFS_CREATE_MINIVERSION"),
    (ctl(FS, 99, BUF, RD), "FSCTL_TXFS_TRANSACTION_ACTIVE"),
    (ctl(FS, 101, BUF, ANY), "FSCTL_SET_ZERO_ON_DEALLOCATION"),
    (ctl(FS, 102, BUF, ANY), "FSCTL_SET_REPAIR"),
    (ctl(FS, 103, BUF, ANY), "FSCTL_GET_REPAIR"),
    (ctl(FS, 104, BUF, ANY), "FSCTL_WAIT_FOR_REPAIR"),
    (ctl(FS, 106, BUF, ANY), "FSCTL_INITIATE_REPAIR"),
    (ctl(FS, 107, NEI, ANY), "CSC_FSCTL_OPERATION_QUERY_HANDLE"),
    (ctl(FS, 108, BUF, ANY), "FSCTL_SHRINK_VOLUME"),
    (ctl(FS, 109, BUF, ANY), "FSCTL_SET_SHORT_NAME_BEHAVIOR"),
    (ctl(FS, 110, BUF, ANY), "FSCTL_DFSR_SET_GHOST_HANDLE_STATE"),
    (
        ctl(FS, 120, BUF, RD),
        "FSCTL_TXFS_LIST_TRANSACTION_LOCKED_FILES",
    ),
    (ctl(FS, 121, BUF, RD), "FSCTL_TXFS_LIST_TRANSACTIONS"),
    (ctl(FS, 122, BUF, ANY), "FSCTL_QUERY_PAGEFILE_ENCRYPTION"),
    (
        ctl(FS, 123, BUF, ANY),
        "FSCTL_RESET_VOLUME_ALLOCATION_HINTS",
    ),
    (ctl(FS, 124, BUF, ANY), "FSCTL_QUERY_DEPENDENT_VOLUME"),
    (ctl(FS, 125, BUF, ANY), "FSCTL_SD_GLOBAL_CHANGE"),
    (
        ctl(FS, 126, BUF, ANY),
        "FSCTL_TXFS_READ_BACKUP_INFORMATION2",
    ),
    (ctl(FS, 127, BUF, ANY), "FSCTL_LOOKUP_STREAM_FROM_CLUSTER"),
    (
        ctl(FS, 128, BUF, ANY),
        "FSCTL_TXFS_WRITE_BACKUP_INFORMATION2",
    ),
    (ctl(FS, 129, BUF, ANY), "FSCTL_FILE_TYPE_NOTIFICATION"),
    (ctl(FS, 130, BUF, WR), "FSCTL_FILE_LEVEL_TRIM"),
    (ctl(FS, 140, BUF, ANY), "FSCTL_GET_BOOT_AREA_INFO"),
    (ctl(FS, 141, BUF, ANY), "FSCTL_GET_RETRIEVAL_POINTER_BASE"),
    (ctl(FS, 142, BUF, ANY), "FSCTL_SET_PERSISTENT_VOLUME_STATE"),
    (
        ctl(FS, 143, BUF, ANY),
        "FSCTL_QUERY_PERSISTENT_VOLUME_STATE",
    ),
    (ctl(FS, 144, BUF, ANY), "FSCTL_REQUEST_OPLOCK"),
    (ctl(FS, 145, BUF, ANY), "FSCTL_CSV_TUNNEL_REQUEST"),
    (ctl(FS, 146, BUF, ANY), "FSCTL_IS_CSV_FILE"),
    (
        ctl(FS, 147, BUF, ANY),
        "FSCTL_QUERY_FILE_SYSTEM_RECOGNITION",
    ),
    (ctl(FS, 148, BUF, ANY), "FSCTL_CSV_GET_VOLUME_PATH_NAME"),
    (
        ctl(FS, 149, BUF, ANY),
        "FSCTL_CSV_GET_VOLUME_NAME_FOR_VOLUME_MOUNT_POINT",
    ),
    (
        ctl(FS, 150, BUF, ANY),
        "FSCTL_CSV_GET_VOLUME_PATH_NAMES_FOR_VOLUME_NAME",
    ),
    (ctl(FS, 151, BUF, ANY), "FSCTL_IS_FILE_ON_CSV_VOLUME"),
    (ctl(FS, 152, BUF, ANY), "FSCTL_CORRUPTION_HANDLING"),
    (ctl(FS, 153, BUF, ANY), "FSCTL_OFFLOAD_READ"),
    (ctl(FS, 154, BUF, ANY), "FSCTL_OFFLOAD_WRITE"),
    (ctl(FS, 155, BUF, ANY), "FSCTL_CSV_INTERNAL"),
    (ctl(FS, 156, BUF, ANY), "FSCTL_SET_PURGE_FAILURE_MODE"),
    (ctl(FS, 157, BUF, ANY), "FSCTL_QUERY_FILE_LAYOUT"),
    (ctl(FS, 158, BUF, ANY), "FSCTL_IS_VOLUME_OWNED_BYCSVFS"),
    (ctl(FS, 159, BUF, ANY), "FSCTL_GET_INTEGRITY_INFORMATION"),
    (ctl(FS, 160, BUF, RW), "FSCTL_SET_INTEGRITY_INFORMATION"),
    (ctl(FS, 161, BUF, ANY), "FSCTL_QUERY_FILE_REGIONS"),
    (ctl(FS, 171, NEI, ANY), "FSCTL_RKF_INTERNAL"),
    (ctl(FS, 172, BUF, ANY), "FSCTL_SCRUB_DATA"),
    (ctl(FS, 173, BUF, RW), "FSCTL_REPAIR_COPIES"),
    (ctl(FS, 174, BUF, ANY), "FSCTL_DISABLE_LOCAL_BUFFERING"),
    (ctl(FS, 175, BUF, ANY), "FSCTL_CSV_MGMT_LOCK"),
    (
        ctl(FS, 176, BUF, ANY),
        "FSCTL_CSV_QUERY_DOWN_LEVEL_FILE_SYSTEM_CHARACTERISTICS",
    ),
    (ctl(FS, 177, BUF, ANY), "FSCTL_ADVANCE_FILE_ID"),
    (ctl(FS, 178, BUF, ANY), "FSCTL_CSV_SYNC_TUNNEL_REQUEST"),
    (
        ctl(FS, 179, BUF, ANY),
        "FSCTL_CSV_QUERY_VETO_FILE_DIRECT_IO",
    ),
    (ctl(FS, 180, BUF, ANY), "FSCTL_WRITE_USN_REASON"),
    (ctl(FS, 181, BUF, ANY), "FSCTL_CSV_CONTROL"),
    (ctl(FS, 182, BUF, ANY), "FSCTL_GET_REFS_VOLUME_DATA"),
    (
        ctl(FS, 185, BUF, ANY),
        "FSCTL_CSV_H_BREAKING_SYNC_TUNNEL_REQUEST",
    ),
    (ctl(FS, 187, BUF, ANY), "FSCTL_QUERY_STORAGE_CLASSES"),
    (ctl(FS, 188, BUF, ANY), "FSCTL_QUERY_REGION_INFO"),
    (ctl(FS, 189, BUF, ANY), "FSCTL_USN_TRACK_MODIFIED_RANGES"),
    (
        ctl(FS, 192, BUF, ANY),
        "FSCTL_QUERY_SHARED_VIRTUAL_DISK_SUPPORT",
    ),
    (ctl(FS, 193, BUF, ANY), "FSCTL_SVHDX_SYNC_TUNNEL_REQUEST"),
    (
        ctl(FS, 194, BUF, ANY),
        "FSCTL_SVHDX_SET_INITIATOR_INFORMATION",
    ),
    (ctl(FS, 195, BUF, ANY), "FSCTL_SET_EXTERNAL_BACKING"),
    (ctl(FS, 196, BUF, ANY), "FSCTL_GET_EXTERNAL_BACKING"),
    (ctl(FS, 197, BUF, ANY), "FSCTL_DELETE_EXTERNAL_BACKING"),
    (ctl(FS, 198, BUF, ANY), "FSCTL_ENUM_EXTERNAL_BACKING"),
    (ctl(FS, 199, NEI, ANY), "FSCTL_ENUM_OVERLAY"),
    (ctl(FS, 204, BUF, WR), "FSCTL_ADD_OVERLAY"),
    (ctl(FS, 205, BUF, WR), "FSCTL_REMOVE_OVERLAY"),
    (ctl(FS, 206, BUF, WR), "FSCTL_UPDATE_OVERLAY"),
    (ctl(FS, 208, BUF, RW), "FSCTL_SHUFFLE_FILE"),
    (ctl(FS, 209, BUF, WR), "FSCTL_DUPLICATE_EXTENTS_TO_FILE"),
    (ctl(FS, 211, BUF, ANY), "FSCTL_SPARSE_OVERALLOCATE"),
    (ctl(FS, 212, BUF, ANY), "FSCTL_STORAGE_QOS_CONTROL"),
    (
        ctl(FS, 215, BUF, ANY),
        "FSCTL_INITIATE_FILE_METADATA_OPTIMIZATION",
    ),
    (
        ctl(FS, 216, BUF, ANY),
        "FSCTL_QUERY_FILE_METADATA_OPTIMIZATION",
    ),
    (ctl(FS, 217, BUF, ANY), "FSCTL_SVHDX_ASYNC_TUNNEL_REQUEST"),
    (ctl(FS, 218, BUF, ANY), "FSCTL_GET_WOF_VERSION"),
    (ctl(FS, 219, BUF, ANY), "FSCTL_HCS_SYNC_TUNNEL_REQUEST"),
    (ctl(FS, 220, BUF, ANY), "FSCTL_HCS_ASYNC_TUNNEL_REQUEST"),
    (ctl(FS, 221, NEI, ANY), "FSCTL_QUERY_EXTENT_READ_CACHE_INFO"),
    (
        ctl(FS, 222, NEI, ANY),
        "FSCTL_QUERY_REFS_VOLUME_COUNTER_INFO",
    ),
    (ctl(FS, 223, BUF, ANY), "FSCTL_CLEAN_VOLUME_METADATA"),
    (ctl(FS, 224, BUF, ANY), "FSCTL_SET_INTEGRITY_INFORMATION_EX"),
    (ctl(FS, 225, BUF, ANY), "FSCTL_SUSPEND_OVERLAY"),
    (
        ctl(FS, 226, BUF, ANY),
        "FSCTL_VIRTUAL_STORAGE_QUERY_PROPERTY",
    ),
    (ctl(FS, 227, BUF, ANY), "FSCTL_FILESYSTEM_GET_STATISTICS_EX"),
    (ctl(FS, 228, BUF, ANY), "FSCTL_QUERY_VOLUME_CONTAINER_STATE"),
    (ctl(FS, 229, BUF, ANY), "FSCTL_SET_LAYER_ROOT"),
    (ctl(FS, 230, NEI, ANY), "FSCTL_QUERY_DIRECT_ACCESS_EXTENTS"),
    (
        ctl(FS, 231, BUF, ANY),
        "FSCTL_NOTIFY_STORAGE_SPACE_ALLOCATION",
    ),
    (ctl(FS, 232, BUF, ANY), "FSCTL_SSDI_STORAGE_REQUEST"),
    (
        ctl(FS, 233, BUF, ANY),
        "FSCTL_QUERY_DIRECT_IMAGE_ORIGINAL_BASE",
    ),
    (
        ctl(FS, 234, NEI, ANY),
        "FSCTL_READ_UNPRIVILEGED_USN_JOURNAL",
    ),
    (ctl(FS, 235, BUF, WR), "FSCTL_GHOST_FILE_EXTENTS"),
    (ctl(FS, 236, BUF, ANY), "FSCTL_QUERY_GHOSTED_FILE_EXTENTS"),
    (ctl(FS, 237, BUF, ANY), "FSCTL_UNMAP_SPACE"),
    (
        ctl(FS, 238, BUF, ANY),
        "FSCTL_HCS_SYNC_NO_WRITE_TUNNEL_REQUEST",
    ),
    (ctl(FS, 241, BUF, ANY), "FSCTL_STREAMS_QUERY_PARAMETERS"),
    (ctl(FS, 242, BUF, ANY), "FSCTL_STREAMS_ASSOCIATE_ID"),
    (ctl(FS, 243, BUF, ANY), "FSCTL_STREAMS_QUERY_ID"),
    (
        ctl(FS, 244, NEI, ANY),
        "FSCTL_GET_RETRIEVAL_POINTERS_AND_REFCOUNT",
    ),
    (ctl(FS, 245, BUF, ANY), "FSCTL_QUERY_VOLUME_NUMA_INFO"),
    (ctl(FS, 246, BUF, ANY), "FSCTL_REFS_DEALLOCATE_RANGES"),
    (ctl(FS, 247, BUF, ANY), "FSCTL_QUERY_REFS_SMR_VOLUME_INFO"),
    (
        ctl(FS, 248, BUF, ANY),
        "FSCTL_SET_REFS_SMR_VOLUME_GC_PARAMETERS",
    ),
    (
        ctl(FS, 249, BUF, ANY),
        "FSCTL_SET_REFS_FILE_STRICTLY_SEQUENTIAL",
    ),
    (ctl(FS, 250, BUF, WR), "FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX"),
    (ctl(FS, 251, BUF, ANY), "FSCTL_QUERY_BAD_RANGES"),
    (ctl(FS, 252, BUF, ANY), "FSCTL_SET_DAX_ALLOC_ALIGNMENT_HINT"),
    (
        ctl(FS, 253, BUF, ANY),
        "FSCTL_DELETE_CORRUPTED_REFS_CONTAINER",
    ),
    (ctl(FS, 254, BUF, ANY), "FSCTL_SCRUB_UNDISCOVERABLE_ID"),
    // Named pipes and mailslots (IPC).
    (ctl(PIPE, 0, BUF, ANY), "FSCTL_PIPE_ASSIGN_EVENT"),
    (ctl(PIPE, 1, BUF, ANY), "FSCTL_PIPE_DISCONNECT"),
    (ctl(PIPE, 2, BUF, ANY), "FSCTL_PIPE_LISTEN"),
    (ctl(PIPE, 3, BUF, RD), "FSCTL_PIPE_PEEK"),
    (ctl(PIPE, 4, BUF, ANY), "FSCTL_PIPE_QUERY_EVENT"),
    (ctl(PIPE, 5, NEI, RW), "FSCTL_PIPE_TRANSCEIVE"),
    (ctl(PIPE, 6, BUF, ANY), "FSCTL_PIPE_WAIT"),
    (ctl(PIPE, 7, BUF, ANY), "FSCTL_PIPE_IMPERSONATE"),
    (ctl(PIPE, 8, BUF, ANY), "FSCTL_PIPE_SET_CLIENT_PROCESS"),
    (ctl(PIPE, 9, BUF, ANY), "FSCTL_PIPE_QUERY_CLIENT_PROCESS"),
    (
        ctl(PIPE, 12, BUF, ANY),
        "FSCTL_PIPE_GET_CONNECTION_ATTRIBUTE",
    ),
    (ctl(PIPE, 2045, BUF, RD), "FSCTL_PIPE_INTERNAL_READ"),
    (ctl(PIPE, 2046, BUF, WR), "FSCTL_PIPE_INTERNAL_WRITE"),
    (ctl(PIPE, 2047, NEI, RW), "FSCTL_PIPE_INTERNAL_TRANSCEIVE"),
    (ctl(PIPE, 2048, BUF, RD), "FSCTL_PIPE_INTERNAL_READ_OVFLOW"),
    (ctl(MAILSLOT, 0, NEI, RD), "FSCTL_MAILSLOT_PEEK"),
    // LAN Manager redirector.
    (ctl(NETFS, 123, BUF, ANY), "FSCTL_LMR_QUERY_DEBUG_INFO"),
    // Storage class devices (IOCTL_STORAGE_BASE).
    (ctl(STORAGE, 0x200, BUF, RD), "IOCTL_STORAGE_CHECK_VERIFY"),
    (ctl(STORAGE, 0x200, BUF, ANY), "IOCTL_STORAGE_CHECK_VERIFY2"),
    (ctl(STORAGE, 0x201, BUF, RD), "IOCTL_STORAGE_MEDIA_REMOVAL"),
    (ctl(STORAGE, 0x202, BUF, RD), "IOCTL_STORAGE_EJECT_MEDIA"),
    (ctl(STORAGE, 0x203, BUF, RD), "IOCTL_STORAGE_LOAD_MEDIA"),
    (ctl(STORAGE, 0x203, BUF, ANY), "IOCTL_STORAGE_LOAD_MEDIA2"),
    (ctl(STORAGE, 0x204, BUF, RD), "IOCTL_STORAGE_RESERVE"),
    (ctl(STORAGE, 0x205, BUF, RD), "IOCTL_STORAGE_RELEASE"),
    (
        ctl(STORAGE, 0x206, BUF, RD),
        "IOCTL_STORAGE_FIND_NEW_DEVICES",
    ),
    (
        ctl(STORAGE, 0x250, BUF, ANY),
        "IOCTL_STORAGE_EJECTION_CONTROL",
    ),
    (ctl(STORAGE, 0x251, BUF, ANY), "IOCTL_STORAGE_MCN_CONTROL"),
    (
        ctl(STORAGE, 0x300, BUF, ANY),
        "IOCTL_STORAGE_GET_MEDIA_TYPES",
    ),
    (
        ctl(STORAGE, 0x301, BUF, ANY),
        "IOCTL_STORAGE_GET_MEDIA_TYPES_EX",
    ),
    (
        ctl(STORAGE, 0x304, BUF, ANY),
        "IOCTL_STORAGE_GET_MEDIA_SERIAL_NUMBER",
    ),
    (
        ctl(STORAGE, 0x305, BUF, ANY),
        "IOCTL_STORAGE_GET_HOTPLUG_INFO",
    ),
    (
        ctl(STORAGE, 0x306, BUF, RW),
        "IOCTL_STORAGE_SET_HOTPLUG_INFO",
    ),
    (ctl(STORAGE, 0x400, BUF, RD), "IOCTL_STORAGE_RESET_BUS"),
    (ctl(STORAGE, 0x401, BUF, RD), "IOCTL_STORAGE_RESET_DEVICE"),
    (
        ctl(STORAGE, 0x405, BUF, RD),
        "IOCTL_STORAGE_BREAK_RESERVATION",
    ),
    (
        ctl(STORAGE, 0x406, BUF, RD),
        "IOCTL_STORAGE_PERSISTENT_RESERVE_IN",
    ),
    (
        ctl(STORAGE, 0x407, BUF, RW),
        "IOCTL_STORAGE_PERSISTENT_RESERVE_OUT",
    ),
    (
        ctl(STORAGE, 0x420, BUF, ANY),
        "IOCTL_STORAGE_GET_DEVICE_NUMBER",
    ),
    (
        ctl(STORAGE, 0x421, BUF, ANY),
        "IOCTL_STORAGE_GET_DEVICE_NUMBER_EX",
    ),
    (
        ctl(STORAGE, 0x440, BUF, ANY),
        "IOCTL_STORAGE_PREDICT_FAILURE",
    ),
    (
        ctl(STORAGE, 0x441, BUF, ANY),
        "IOCTL_STORAGE_FAILURE_PREDICTION_CONFIG",
    ),
    (ctl(STORAGE, 0x442, BUF, ANY), "IOCTL_STORAGE_GET_COUNTERS"),
    (ctl(STORAGE, 0x450, BUF, RD), "IOCTL_STORAGE_READ_CAPACITY"),
    (
        ctl(STORAGE, 0x470, BUF, RW),
        "IOCTL_STORAGE_GET_DEVICE_TELEMETRY",
    ),
    (
        ctl(STORAGE, 0x471, BUF, RW),
        "IOCTL_STORAGE_DEVICE_TELEMETRY_NOTIFY",
    ),
    (
        ctl(STORAGE, 0x472, BUF, RW),
        "IOCTL_STORAGE_DEVICE_TELEMETRY_QUERY_CAPS",
    ),
    (
        ctl(STORAGE, 0x473, BUF, RW),
        "IOCTL_STORAGE_GET_DEVICE_TELEMETRY_RAW",
    ),
    (
        ctl(STORAGE, 0x480, BUF, RW),
        "IOCTL_STORAGE_SET_TEMPERATURE_THRESHOLD",
    ),
    (
        ctl(STORAGE, 0x4F0, BUF, RW),
        "IOCTL_STORAGE_PROTOCOL_COMMAND",
    ),
    (
        ctl(STORAGE, 0x500, BUF, ANY),
        "IOCTL_STORAGE_QUERY_PROPERTY",
    ),
    (
        ctl(STORAGE, 0x501, BUF, WR),
        "IOCTL_STORAGE_MANAGE_DATA_SET_ATTRIBUTES",
    ),
    (
        ctl(STORAGE, 0x502, BUF, RD),
        "IOCTL_STORAGE_GET_LB_PROVISIONING_MAP_RESOURCES",
    ),
    (
        ctl(STORAGE, 0x590, BUF, WR),
        "IOCTL_STORAGE_REINITIALIZE_MEDIA",
    ),
    (
        ctl(STORAGE, 0x600, BUF, RD),
        "IOCTL_STORAGE_GET_BC_PROPERTIES",
    ),
    (
        ctl(STORAGE, 0x601, BUF, RW),
        "IOCTL_STORAGE_ALLOCATE_BC_STREAM",
    ),
    (ctl(STORAGE, 0x602, BUF, RW), "IOCTL_STORAGE_FREE_BC_STREAM"),
    (
        ctl(STORAGE, 0x620, BUF, ANY),
        "IOCTL_STORAGE_CHECK_PRIORITY_HINT_SUPPORT",
    ),
    (
        ctl(STORAGE, 0x621, BUF, RW),
        "IOCTL_STORAGE_START_DATA_INTEGRITY_CHECK",
    ),
    (
        ctl(STORAGE, 0x622, BUF, RW),
        "IOCTL_STORAGE_STOP_DATA_INTEGRITY_CHECK",
    ),
    (
        ctl(STORAGE, 0x700, BUF, ANY),
        "IOCTL_STORAGE_FIRMWARE_GET_INFO",
    ),
    (
        ctl(STORAGE, 0x701, BUF, RW),
        "IOCTL_STORAGE_FIRMWARE_DOWNLOAD",
    ),
    (
        ctl(STORAGE, 0x702, BUF, RW),
        "IOCTL_STORAGE_FIRMWARE_ACTIVATE",
    ),
    (
        ctl(STORAGE, 0x720, BUF, ANY),
        "IOCTL_STORAGE_ENABLE_IDLE_POWER",
    ),
    (
        ctl(STORAGE, 0x721, BUF, ANY),
        "IOCTL_STORAGE_GET_IDLE_POWERUP_REASON",
    ),
    (ctl(STORAGE, 0x722, BUF, ANY), "IOCTL_STORAGE_POWER_ACTIVE"),
    (ctl(STORAGE, 0x723, BUF, ANY), "IOCTL_STORAGE_POWER_IDLE"),
    (
        ctl(STORAGE, 0x724, BUF, ANY),
        "IOCTL_STORAGE_EVENT_NOTIFICATION",
    ),
    (
        ctl(STORAGE, 0x725, BUF, ANY),
        "IOCTL_STORAGE_DEVICE_POWER_CAP",
    ),
    (ctl(STORAGE, 0x726, BUF, ANY), "IOCTL_RPMB_COMMAND"),
    (
        ctl(STORAGE, 0x727, BUF, ANY),
        "IOCTL_STORAGE_ATTRIBUTE_MANAGEMENT",
    ),
    (ctl(STORAGE, 0x728, BUF, ANY), "IOCTL_STORAGE_DIAGNOSTIC"),
    // Disks (IOCTL_DISK_BASE).
    (ctl(DISK, 0x00, BUF, ANY), "IOCTL_DISK_GET_DRIVE_GEOMETRY"),
    (ctl(DISK, 0x01, BUF, RD), "IOCTL_DISK_GET_PARTITION_INFO"),
    (ctl(DISK, 0x02, BUF, RW), "IOCTL_DISK_SET_PARTITION_INFO"),
    (ctl(DISK, 0x03, BUF, RD), "IOCTL_DISK_GET_DRIVE_LAYOUT"),
    (ctl(DISK, 0x04, BUF, RW), "IOCTL_DISK_SET_DRIVE_LAYOUT"),
    (ctl(DISK, 0x05, BUF, ANY), "IOCTL_DISK_VERIFY"),
    (ctl(DISK, 0x06, BUF, RW), "IOCTL_DISK_FORMAT_TRACKS"),
    (ctl(DISK, 0x07, BUF, RW), "IOCTL_DISK_REASSIGN_BLOCKS"),
    (ctl(DISK, 0x08, BUF, ANY), "IOCTL_DISK_PERFORMANCE"),
    (ctl(DISK, 0x09, BUF, ANY), "IOCTL_DISK_IS_WRITABLE"),
    (ctl(DISK, 0x0A, BUF, ANY), "IOCTL_DISK_LOGGING"),
    (ctl(DISK, 0x0B, BUF, RW), "IOCTL_DISK_FORMAT_TRACKS_EX"),
    (ctl(DISK, 0x0C, BUF, ANY), "IOCTL_DISK_HISTOGRAM_STRUCTURE"),
    (ctl(DISK, 0x0D, BUF, ANY), "IOCTL_DISK_HISTOGRAM_DATA"),
    (ctl(DISK, 0x0E, BUF, ANY), "IOCTL_DISK_HISTOGRAM_RESET"),
    (ctl(DISK, 0x0F, BUF, ANY), "IOCTL_DISK_REQUEST_STRUCTURE"),
    (ctl(DISK, 0x10, BUF, ANY), "IOCTL_DISK_REQUEST_DATA"),
    (ctl(DISK, 0x11, BUF, ANY), "IOCTL_DISK_CONTROLLER_NUMBER"),
    (
        ctl(DISK, 0x12, BUF, ANY),
        "IOCTL_DISK_GET_PARTITION_INFO_EX",
    ),
    (ctl(DISK, 0x13, BUF, RW), "IOCTL_DISK_SET_PARTITION_INFO_EX"),
    (ctl(DISK, 0x14, BUF, ANY), "IOCTL_DISK_GET_DRIVE_LAYOUT_EX"),
    (ctl(DISK, 0x15, BUF, RW), "IOCTL_DISK_SET_DRIVE_LAYOUT_EX"),
    (ctl(DISK, 0x16, BUF, RW), "IOCTL_DISK_CREATE_DISK"),
    (ctl(DISK, 0x17, BUF, RD), "IOCTL_DISK_GET_LENGTH_INFO"),
    (ctl(DISK, 0x20, BUF, RD), "SMART_GET_VERSION"),
    (ctl(DISK, 0x21, BUF, RW), "SMART_SEND_DRIVE_COMMAND"),
    (ctl(DISK, 0x22, BUF, RW), "SMART_RCV_DRIVE_DATA"),
    (
        ctl(DISK, 0x28, BUF, ANY),
        "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX",
    ),
    (ctl(DISK, 0x29, BUF, RW), "IOCTL_DISK_REASSIGN_BLOCKS_EX"),
    (ctl(DISK, 0x32, BUF, RW), "IOCTL_DISK_UPDATE_DRIVE_SIZE"),
    (ctl(DISK, 0x34, BUF, RW), "IOCTL_DISK_GROW_PARTITION"),
    (ctl(DISK, 0x35, BUF, RD), "IOCTL_DISK_GET_CACHE_INFORMATION"),
    (ctl(DISK, 0x36, BUF, RW), "IOCTL_DISK_SET_CACHE_INFORMATION"),
    (ctl(DISK, 0x37, BUF, RD), "IOCTL_DISK_GET_WRITE_CACHE_STATE"),
    (ctl(DISK, 0x40, BUF, RW), "IOCTL_DISK_DELETE_DRIVE_LAYOUT"),
    (ctl(DISK, 0x50, BUF, ANY), "IOCTL_DISK_UPDATE_PROPERTIES"),
    (ctl(DISK, 0xF3, BUF, RW), "IOCTL_DISK_FORMAT_DRIVE"),
    (ctl(DISK, 0xF8, BUF, ANY), "IOCTL_DISK_SENSE_DEVICE"),
    (ctl(DISK, 0x200, BUF, RD), "IOCTL_DISK_CHECK_VERIFY"),
    (ctl(DISK, 0x201, BUF, RD), "IOCTL_DISK_MEDIA_REMOVAL"),
    (ctl(DISK, 0x202, BUF, RD), "IOCTL_DISK_EJECT_MEDIA"),
    (ctl(DISK, 0x203, BUF, RD), "IOCTL_DISK_LOAD_MEDIA"),
    (ctl(DISK, 0x204, BUF, RD), "IOCTL_DISK_RESERVE"),
    (ctl(DISK, 0x205, BUF, RD), "IOCTL_DISK_RELEASE"),
    (ctl(DISK, 0x206, BUF, RD), "IOCTL_DISK_FIND_NEW_DEVICES"),
    (ctl(DISK, 0x300, BUF, ANY), "IOCTL_DISK_GET_MEDIA_TYPES"),
    // Volumes ('V').
    (
        ctl(VOLUME, 0, BUF, ANY),
        "IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS",
    ),
    (ctl(VOLUME, 2, BUF, RW), "IOCTL_VOLUME_ONLINE"),
    (ctl(VOLUME, 3, BUF, RW), "IOCTL_VOLUME_OFFLINE"),
    (ctl(VOLUME, 12, BUF, ANY), "IOCTL_VOLUME_IS_CLUSTERED"),
    (ctl(VOLUME, 14, BUF, ANY), "IOCTL_VOLUME_GET_GPT_ATTRIBUTES"),
    // Mount manager clients ('M') and the mount manager ('m').
    (ctl(MOUNTDEV, 0, BUF, ANY), "IOCTL_MOUNTDEV_QUERY_UNIQUE_ID"),
    (
        ctl(MOUNTDEV, 2, BUF, ANY),
        "IOCTL_MOUNTDEV_QUERY_DEVICE_NAME",
    ),
    (
        ctl(MOUNTDEV, 3, BUF, ANY),
        "IOCTL_MOUNTDEV_QUERY_SUGGESTED_LINK_NAME",
    ),
    (ctl(MOUNTMGR, 2, BUF, ANY), "IOCTL_MOUNTMGR_QUERY_POINTS"),
    (
        ctl(MOUNTMGR, 12, BUF, ANY),
        "IOCTL_MOUNTMGR_QUERY_DOS_VOLUME_PATH",
    ),
    (
        ctl(MOUNTMGR, 13, BUF, ANY),
        "IOCTL_MOUNTMGR_QUERY_DOS_VOLUME_PATHS",
    ),
];

/// [`TABLE`] sorted by code (insertion sort at compile time).
const SORTED: [(u32, &str); TABLE.len()] = {
    let mut t = [(0u32, ""); TABLE.len()];
    let mut k = 0;
    while k < t.len() {
        t[k] = TABLE[k];
        k += 1;
    }
    let mut i = 1;
    while i < t.len() {
        let mut j = i;
        while j > 0 && t[j - 1].0 > t[j].0 {
            let tmp = t[j - 1];
            t[j - 1] = t[j];
            t[j] = tmp;
            j -= 1;
        }
        i += 1;
    }
    t
};

/// The FSCTL_/IOCTL_ name of `code`, if this table knows it.
pub fn name(code: u32) -> Option<&'static str> {
    let i = SORTED.binary_search_by_key(&code, |e| e.0).ok()?;
    Some(SORTED[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_codes() {
        assert_eq!(name(0x900A8), Some("FSCTL_GET_REPARSE_POINT"));
        assert_eq!(name(0x900A4), Some("FSCTL_SET_REPARSE_POINT"));
        assert_eq!(name(0x900BB), Some("FSCTL_READ_USN_JOURNAL"));
        assert_eq!(name(0x900EB), Some("FSCTL_READ_FILE_USN_DATA"));
        assert_eq!(name(0x900EF), Some("FSCTL_WRITE_USN_CLOSE_RECORD"));
        assert_eq!(name(0x900F4), Some("FSCTL_QUERY_USN_JOURNAL"));
        assert_eq!(name(0x900C0), Some("FSCTL_CREATE_OR_GET_OBJECT_ID"));
        assert_eq!(name(0x9005C), Some("FSCTL_REQUEST_FILTER_OPLOCK"));
        assert_eq!(name(0x90240), Some("FSCTL_REQUEST_OPLOCK"));
        assert_eq!(name(0x90310), Some("FSCTL_GET_EXTERNAL_BACKING"));
        assert_eq!(name(0x901AF), Some("CSC_FSCTL_OPERATION_QUERY_HANDLE"));
        assert_eq!(name(0x1401EC), Some("FSCTL_LMR_QUERY_DEBUG_INFO"));
        assert_eq!(name(0x70000), Some("IOCTL_DISK_GET_DRIVE_GEOMETRY"));
        assert_eq!(name(0x4D0008), Some("IOCTL_MOUNTDEV_QUERY_DEVICE_NAME"));
        assert_eq!(name(0x2D4800), Some("IOCTL_STORAGE_CHECK_VERIFY"));
        assert_eq!(name(0x2D1400), Some("IOCTL_STORAGE_QUERY_PROPERTY"));
        // Procmon prints these two unnamed.
        assert_eq!(name(0x902EB), None);
        assert_eq!(name(0x144064), None);
    }

    #[test]
    fn codes_are_unique() {
        for w in SORTED.windows(2) {
            assert!(w[0].0 < w[1].0, "duplicate code 0x{:x}", w[0].0);
        }
    }
}
