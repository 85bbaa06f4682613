-- A cab extraction under SoftwareDistribution was denied: a file operation on an update's .cab
-- or on the folder it expands into (Download\<id>\inst\..., *.cab_\...) failed with a denial
-- ordinary ACLs do not explain.
-- Why it matters: cumulative updates then fail with 0x80070005 ("Failed to extract files from
-- cabinet" in CBS.log); the usual cause is a file-system minifilter scanning or blocking the
-- expanded files (case B). Procmon cannot name the minifilter; an ETL with Minifilter I/O can.
SELECT event_id, time_utc, process_name, pid, operation, path, status_name
FROM denials
WHERE class = 'File System'
  AND NOT acl_plausible
  AND path ILIKE '%\SoftwareDistribution\%'
  AND (path ILIKE '%.cab%' OR path ILIKE '%\inst\%')
ORDER BY event_id
