-- A servicing operation was denied where an ordinary ACL would not deny it.
-- Why it matters: the servicing stack (TrustedInstaller.exe, TiWorker.exe, drvinst.exe, DISM,
-- the Windows Update services) or a servicing object (component store, driver store,
-- Services keys, SoftwareDistribution) met ACCESS DENIED or a filter-only status, and the
-- actor/target pair is not one ordinary ACLs refuse: a third-party filter or registry
-- callback driver is the candidate (case A). `fltblame analyze` on the same inputs names it.
SELECT event_id, time_utc, process_name, pid, operation, object, status_name
FROM denials
WHERE servicing_relevant AND NOT acl_plausible
ORDER BY event_id
