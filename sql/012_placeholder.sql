-- Placeholder for schema version 12, which another branch of issue 12
-- takes; only here so that 013 applies in a local test run.  The lead
-- drops this file (or renumbers 013) at merge.
DO $$ BEGIN NULL; END $$;
