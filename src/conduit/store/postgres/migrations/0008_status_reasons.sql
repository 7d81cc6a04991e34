-- Why the system disabled a connector (`statusReason`): RECEIVER_GONE or NO_SUCCESS_FOR_5_DAYS;
-- NULL while it is ACTIVE or USER_DISABLED. Connectors disabled before this column existed keep NULL.
ALTER TABLE dataconnectors ADD COLUMN status_reason text;
