/* Version constants shared by the module, qiweictl and the tests. */
#ifndef QW_VERSION_H
#define QW_VERSION_H

#define QW_VERSION_STRING "0.1.0"

/* The schema version this build needs; sql/NNN_*.sql files up to this number
 * must have been applied (qw_schema_version.version). */
#define QW_SCHEMA_VERSION 18

#endif
